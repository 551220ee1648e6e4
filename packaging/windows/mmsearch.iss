; Inno Setup script: the Windows installer for mmsearch (docs/packaging.md).
;
;   python packaging\build.py app                 (builds dist\mmsearch\ with the same spec)
;   iscc /DAppVersion=0.1.0 packaging\windows\mmsearch.iss
;
; writes dist\mmsearch-0.1.0-setup.exe. Kept in step with the Linux build: the same
; one-folder app, a Start menu entry for the window, the `mmsearch` command on the PATH
; (optional task), and the user's catalog in %LOCALAPPDATA%\mmsearch, which neither an
; upgrade nor an uninstall touches.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "mmsearch"
; This file is in packaging\windows: the repository root is two folders up.
#define Repo "..\.."

[Setup]
AppId={{6C5C2E0B-8B8E-4C86-9E0B-6D2B5B3F4A10}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=mmsearch developers
AppComments=Find photos on your disk by what they show
DefaultDirName={autopf}\mmsearch
DefaultGroupName=mmsearch
DisableProgramGroupPage=yes
; Per-user install by default (no admin prompt); the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Repo}\dist
OutputBaseFilename=mmsearch-{#AppVersion}-setup
SetupIconFile={#Repo}\build\packaging\mmsearch.ico
UninstallDisplayIcon={app}\mmsearch-gui.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the mmsearch command to the PATH"; Flags: unchecked

[Files]
; The whole one-folder build; user data never lives here (it is in %LOCALAPPDATA%\mmsearch).
Source: "{#Repo}\dist\mmsearch\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the bundle wholesale, so no stale library from the last version stays.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\mmsearch"; Filename: "{app}\mmsearch-gui.exe"
Name: "{autodesktop}\mmsearch"; Filename: "{app}\mmsearch-gui.exe"; Tasks: desktopicon

[Registry]
; The `mmsearch` command: the install folder on the user's PATH (removed on uninstall).
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\mmsearch-gui.exe"; Description: "{cm:LaunchProgram,mmsearch}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
    Path := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Path, Dir: string;
  P: Integer;
begin
  { Take the install folder off the PATH again; the user's catalog is left alone. }
  if CurUninstallStep = usPostUninstall then
  begin
    Dir := ExpandConstant('{app}');
    if RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
    begin
      P := Pos(';' + Uppercase(Dir), Uppercase(Path));
      if P > 0 then
      begin
        Delete(Path, P, Length(Dir) + 1);
        RegWriteExpandStringValue(HKCU, 'Environment', 'Path', Path);
      end;
    end;
  end;
end;
