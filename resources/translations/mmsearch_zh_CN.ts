<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>CaptionPanel</name>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="184" />
        <source>Drop a photo here</source>
        <translation>把照片拖到这里</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="191" />
        <source>Candidate captions, one per line (or drop a .txt file)</source>
        <translation>候选标题，每行一个（或拖入 .txt 文件）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="193" />
        <source>Rank captions</source>
        <translation>标题排序</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="232" />
        <source>Drop a photo first.</source>
        <translation>请先拖入一张照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="235" />
        <source>Type or drop at least one caption.</source>
        <translation>请输入或拖入至少一个标题。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="237" />
        <source>Ranking…</source>
        <translation>正在排序…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="243" />
        <source>Best first.</source>
        <translation>最佳在前。</translation>
    </message>
</context>
<context>
    <name>CatalogRepair</name>
    <message>
        <location filename="../../mmsearch/ui/app.py" line="116" />
        <source>Restore the backup of {when}</source>
        <translation>恢复 {when} 的备份</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/app.py" line="122" />
        <source>Start with an empty catalog</source>
        <translation>从空目录开始</translation>
    </message>
</context>
<context>
    <name>FoldersDialog</name>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="103" />
        <source>Folders</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="107" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="107" />
        <source>Photos</source>
        <translation>照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="107" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="113" />
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="115" />
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="117" />
        <source>Index now</source>
        <translation>立即索引</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="129" />
        <source>File that could not be read</source>
        <translation>无法读取的文件</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="129" />
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="145" />
        <source>indexing…</source>
        <translation>索引中…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="145" />
        <source>up to date</source>
        <translation>已是最新</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="147" />
        <source>not found (kept)</source>
        <translation>未找到（已保留）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="167" />
        <source>Last run: {added} new, {updated} changed, {moved} moved, {removed} removed, {failed} could not be read.</source>
        <translation>上次运行：新增 {added}，更改 {updated}，移动 {moved}，移除 {removed}，{failed} 个无法读取。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="177" />
        <source>Cancelled: indexing resumes where it stopped next time.</source>
        <translation>已取消：下次会从中断处继续索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="181" />
        <source>Add a folder of photos</source>
        <translation>添加照片文件夹</translation>
    </message>
</context>
<context>
    <name>IndexProgress</name>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="51" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="63" />
        <source>Looking for photos…</source>
        <translation>正在查找照片…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="72" />
        <source>{rate:.1f} photos/s, {eta} left</source>
        <translation>每秒 {rate:.1f} 张，剩余 {eta}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="84" />
        <source>Downloading the model…</source>
        <translation>正在下载模型…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="88" />
        <source>Stopping after the current batch…</source>
        <translation>当前批次完成后停止…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="259" />
        <source>Describe a photo, e.g. “two kids on a beach at sunset” — or drop a photo here</source>
        <translation>描述一张照片，例如“夕阳下海滩上的两个孩子”——或把照片拖到这里</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="269" />
        <source>After</source>
        <translation>晚于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="271" />
        <source>Before</source>
        <translation>早于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="285" />
        <source>All types</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="290" />
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="295" />
        <source>Best match first</source>
        <translation>最匹配优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="296" />
        <source>Newest first</source>
        <translation>最新优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="302" />
        <source>Hide matches weaker than this score</source>
        <translation>隐藏低于此分数的匹配</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="313" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="321" />
        <source>Min. score</source>
        <translation>最低分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="347" />
        <location filename="../../mmsearch/ui/main_window.py" line="462" />
        <source>Find your photos by what they show</source>
        <translation>按照片内容查找你的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="355" />
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="378" />
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="379" />
        <source>Caption ranking</source>
        <translation>标题排序</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="407" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="408" />
        <source>&amp;Add folder…</source>
        <translation>添加文件夹(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="411" />
        <source>&amp;Folders…</source>
        <translation>文件夹(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="413" />
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="416" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="423" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="424" />
        <source>&amp;About mmsearch</source>
        <translation>关于 mmsearch(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="439" />
        <source>All folders</source>
        <translation>全部文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="453" />
        <source>missing ({error})</source>
        <translation>缺失（{error}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="454" />
        <source>Model: {name}</source>
        <translation>模型：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="456" />
        <source>Device: {device}</source>
        <translation>设备：{device}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="459" />
        <source>{count} photos indexed</source>
        <translation>已索引 {count} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="465" />
        <source>Add a folder of photos to start. mmsearch looks at every photo once, on this computer, with its built-in model; then type what you are looking for, or drop a photo to find similar ones.</source>
        <translation>先添加一个照片文件夹。mmsearch 会在本机用内置模型把每张照片看一遍；然后输入你要找的内容，或拖入一张照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="473" />
        <source>What are you looking for?</source>
        <translation>你在找什么？</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="476" />
        <source>Type a description above — “a dog on a beach”, “snowy mountains”. Combine parts with + and -, or drop a photo to find similar ones.</source>
        <translation>在上方输入描述——“海滩上的狗”“雪山”。可用 + 和 - 组合多个部分，或拖入照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="491" />
        <source>{path} is not a folder.</source>
        <translation>{path} 不是文件夹。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="527" />
        <source>{who}: try again when it has finished.</source>
        <translation>{who}：请在它结束后再试。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="539" />
        <source>Add a folder of photos</source>
        <translation>添加照片文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="566" />
        <source>Looking for photos…</source>
        <translation>正在查找照片…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="574" />
        <source>Waiting: {who}</source>
        <translation>等待中：{who}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="576" />
        <source>Waiting: {who}. Indexing starts when it has finished.</source>
        <translation>等待中：{who}。它结束后开始索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="583" />
        <source>Indexing {done} of {total} new or changed photos…</source>
        <translation>正在索引新增或更改的照片：{done} / {total}…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="587" />
        <source>No new or changed photos</source>
        <translation>没有新增或更改的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="603" />
        <source>Indexed {n} photos</source>
        <translation>已索引 {n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="605" />
        <source>Up to date: no new or changed photos</source>
        <translation>已是最新：没有新增或更改的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="608" />
        <source>, {n} could not be read (see Folders)</source>
        <translation>，{n} 个无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="613" />
        <source>; {folders} not reachable (drive unplugged?): its photos are kept</source>
        <translation>；{folders} 无法访问（驱动器已拔出？）：其中的照片仍保留</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="616" />
        <source>Indexing cancelled; it resumes where it stopped next time</source>
        <translation>索引已取消；下次会从中断处继续</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="627" />
        <source>Indexing stopped: {error}</source>
        <translation>索引已停止：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="706" />
        <source>Similar to: {name}</source>
        <translation>相似于：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="731" />
        <source>the file type filter ({type})</source>
        <translation>文件类型筛选（{type}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="737" />
        <source>the minimum score ({score})</source>
        <translation>最低分数（{score}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="741" />
        <source>Every match is hidden by {filters}: change it to see them.</source>
        <translation>所有匹配的照片都被{filters}隐藏了：更改后即可看到。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="742" />
        <source> and </source>
        <translation>和</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="742" />
        <source>the filters</source>
        <translation>筛选条件</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="747" />
        <source>No photos indexed yet: indexing is under way.</source>
        <translation>还没有已索引的照片：正在索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="752" />
        <source>in {folder}</source>
        <translation>在 {folder} 中</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="754" />
        <source>after {date}</source>
        <translation>晚于 {date}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="756" />
        <source>before {date}</source>
        <translation>早于 {date}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="759" />
        <source>None of the {n} indexed photos is {limits}: change the folder or date filter.</source>
        <translation>已索引的 {n} 张照片中没有{limits}的：请更改文件夹或日期筛选。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="760" />
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="761" />
        <source>No match among {n} indexed photos. Try other words.</source>
        <translation>已索引的 {n} 张照片中没有匹配的。换个说法试试。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="748" />
        <source>No photos indexed yet: add a folder, or wait for indexing.</source>
        <translation>还没有已索引的照片：请添加文件夹，或等待索引完成。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="792" />
        <source>off</source>
        <translation>关</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="799" />
        <source>{n} photos</source>
        <translation>{n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="802" />
        <source>{shown} of {total} photos</source>
        <translation>显示 {shown} / {total} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="837" />
        <source>No application opened {name}: right-click it for “Open containing folder” or “Copy path”.</source>
        <translation>没有应用程序能打开 {name}：右键点击它，选择“打开所在文件夹”或“复制路径”。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="849" />
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="851" />
        <source>Open containing folder</source>
        <translation>打开所在文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="855" />
        <source>Copy path</source>
        <translation>复制路径</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="859" />
        <source>Find similar photos</source>
        <translation>查找相似照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="860" />
        <source>Rank captions for this photo</source>
        <translation>为这张照片排序标题</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="921" />
        <source>A model switch is already running.</source>
        <translation>已有一个模型切换正在进行。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="943" />
        <source>Switching to {model}</source>
        <translation>正在切换到 {model}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="950" />
        <source>Model switch cancelled; the current model stays. Choosing it again resumes where it stopped.</source>
        <translation>已取消切换模型，继续使用当前模型。再次选择它会从中断处继续。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="957" />
        <source>Now searching with {model}</source>
        <translation>现在使用 {model} 搜索</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="959" />
        <source>, {n} photos could not be read (see Folders)</source>
        <translation>，{n} 张照片无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="972" />
        <source>Could not switch the model: {error}</source>
        <translation>无法切换模型：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="992" />
        <source>About mmsearch</source>
        <translation>关于 mmsearch</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="993" />
        <source>mmsearch finds photos on your disk by what they show.</source>
        <translation>mmsearch 按内容查找你磁盘上的照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="995" />
        <source>Everything runs on this computer; your photos never leave it.</source>
        <translation>一切都在本机运行；你的照片不会离开这台电脑。</translation>
    </message>
</context>
<context>
    <name>PreviewPanel</name>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="150" />
        <location filename="../../mmsearch/ui/main_window.py" line="201" />
        <source>Select a photo to see it here.</source>
        <translation>选择一张照片，在这里查看。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="157" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="158" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="159" />
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="160" />
        <source>Dimensions</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="161" />
        <source>Taken</source>
        <translation>拍摄时间</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="162" />
        <source>Camera</source>
        <translation>相机</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="163" />
        <source>Score</source>
        <translation>分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="185" />
        <source>Loading…</source>
        <translation>加载中…</translation>
    </message>
</context>
<context>
    <name>ResultsModel</name>
    <message>
        <location filename="../../mmsearch/ui/results.py" line="127" />
        <source>score</source>
        <extracomment>File-type filter: label -&gt; extensions (lower case); empty means all.</extracomment>
        <translation>分数</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="121" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="130" />
        <source>download {size}</source>
        <translation>下载 {size}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="133" />
        <source>Languages: {languages}. License: {license}.</source>
        <translation>语言：{languages}。许可：{license}。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="142" />
        <source>Another model first looks at every photo again in the background; the current one answers searches until it is done.</source>
        <translation>换用其他模型时，新模型会先在后台把每张照片重新看一遍；完成之前仍由当前模型回答搜索。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="150" />
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="154" />
        <source>Models with a fusion head look again at this many of the best photos of a text search and re-order them. Other models ignore it.</source>
        <translation>带融合头的模型会对文字搜索的这么多张最佳照片再看一遍并重新排序。其他模型忽略此项。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="159" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="160" />
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="161" />
        <source>GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="171" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="178" />
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="181" />
        <source>A new device, data folder or language takes effect at the next start.</source>
        <translation>新的设备、数据文件夹或语言将在下次启动时生效。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="190" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="192" />
        <source>Re-rank best results</source>
        <translation>重排最佳结果</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="193" />
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="194" />
        <source>Thumbnail cache</source>
        <translation>缩略图缓存</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="195" />
        <location filename="../../mmsearch/ui/settings.py" line="202" />
        <source>Data folder</source>
        <translation>数据文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="196" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
</TS>