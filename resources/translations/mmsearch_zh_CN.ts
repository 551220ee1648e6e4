<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>CaptionPanel</name>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="121" />
        <source>Drop a photo here</source>
        <translation>把照片拖到这里</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="128" />
        <source>Candidate captions, one per line (or drop a .txt file)</source>
        <translation>候选标题，每行一个（或拖入 .txt 文件）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="130" />
        <source>Rank captions</source>
        <translation>标题排序</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="167" />
        <source>Drop a photo first.</source>
        <translation>请先拖入一张照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="170" />
        <source>Type or drop at least one caption.</source>
        <translation>请输入或拖入至少一个标题。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="172" />
        <source>Ranking…</source>
        <translation>正在排序…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/captions.py" line="186" />
        <source>Best first.</source>
        <translation>最佳在前。</translation>
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
        <location filename="../../mmsearch/ui/main_window.py" line="255" />
        <source>Describe a photo, e.g. “two kids on a beach at sunset” — or drop a photo here</source>
        <translation>描述一张照片，例如“夕阳下海滩上的两个孩子”——或把照片拖到这里</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="265" />
        <source>After</source>
        <translation>晚于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="267" />
        <source>Before</source>
        <translation>早于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="281" />
        <source>All types</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="286" />
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="291" />
        <source>Best match first</source>
        <translation>最匹配优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="292" />
        <source>Newest first</source>
        <translation>最新优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="298" />
        <source>Hide matches weaker than this score</source>
        <translation>隐藏低于此分数的匹配</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="309" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="317" />
        <source>Min. score</source>
        <translation>最低分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="340" />
        <location filename="../../mmsearch/ui/main_window.py" line="453" />
        <source>Find your photos by what they show</source>
        <translation>按照片内容查找你的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="348" />
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="371" />
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="372" />
        <source>Caption ranking</source>
        <translation>标题排序</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="400" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="401" />
        <source>&amp;Add folder…</source>
        <translation>添加文件夹(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="404" />
        <source>&amp;Folders…</source>
        <translation>文件夹(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="406" />
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="409" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="416" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="417" />
        <source>&amp;About mmsearch</source>
        <translation>关于 mmsearch(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="432" />
        <source>All folders</source>
        <translation>全部文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="444" />
        <source>missing ({error})</source>
        <translation>缺失（{error}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="445" />
        <source>Model: {name}</source>
        <translation>模型：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="447" />
        <source>Device: {device}</source>
        <translation>设备：{device}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="450" />
        <source>{count} photos indexed</source>
        <translation>已索引 {count} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="456" />
        <source>Add a folder of photos to start. mmsearch looks at every photo once, on this computer, with its built-in model; then type what you are looking for, or drop a photo to find similar ones.</source>
        <translation>先添加一个照片文件夹。mmsearch 会在本机用内置模型把每张照片看一遍；然后输入你要找的内容，或拖入一张照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="464" />
        <source>What are you looking for?</source>
        <translation>你在找什么？</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="467" />
        <source>Type a description above — “a dog on a beach”, “snowy mountains”. Combine parts with + and -, or drop a photo to find similar ones.</source>
        <translation>在上方输入描述——“海滩上的狗”“雪山”。可用 + 和 - 组合多个部分，或拖入照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="482" />
        <source>{path} is not a folder.</source>
        <translation>{path} 不是文件夹。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="501" />
        <source>Add a folder of photos</source>
        <translation>添加照片文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="547" />
        <source>Indexed {n} photos</source>
        <translation>已索引 {n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="549" />
        <source>, {n} could not be read (see Folders)</source>
        <translation>，{n} 个无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="551" />
        <source>Indexing cancelled; it resumes where it stopped next time</source>
        <translation>索引已取消；下次会从中断处继续</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="562" />
        <source>Indexing stopped: {error}</source>
        <translation>索引已停止：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="634" />
        <source>Similar to: {name}</source>
        <translation>相似于：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="649" />
        <source>No photos match. Try other words, or lower the minimum score.</source>
        <translation>没有匹配的照片。换个说法试试，或降低最低分数。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="651" />
        <source>No photos indexed yet: add a folder, or wait for indexing.</source>
        <translation>还没有已索引的照片：请添加文件夹，或等待索引完成。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="675" />
        <source>No photos match. Lower the minimum score or change the filters.</source>
        <translation>没有匹配的照片。请降低最低分数或更改筛选条件。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="685" />
        <source>off</source>
        <translation>关</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="692" />
        <source>{n} photos</source>
        <translation>{n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="695" />
        <source>{shown} of {total} photos</source>
        <translation>显示 {shown} / {total} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="727" />
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="729" />
        <source>Open containing folder</source>
        <translation>打开所在文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="733" />
        <source>Copy path</source>
        <translation>复制路径</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="737" />
        <source>Find similar photos</source>
        <translation>查找相似照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="738" />
        <source>Rank captions for this photo</source>
        <translation>为这张照片排序标题</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="799" />
        <source>A model switch is already running.</source>
        <translation>已有一个模型切换正在进行。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="821" />
        <source>Switching to {model}</source>
        <translation>正在切换到 {model}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="828" />
        <source>Model switch cancelled; the current model stays. Choosing it again resumes where it stopped.</source>
        <translation>已取消切换模型，继续使用当前模型。再次选择它会从中断处继续。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="835" />
        <source>Now searching with {model}</source>
        <translation>现在使用 {model} 搜索</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="837" />
        <source>, {n} photos could not be read (see Folders)</source>
        <translation>，{n} 张照片无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="850" />
        <source>Could not switch the model: {error}</source>
        <translation>无法切换模型：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="870" />
        <source>About mmsearch</source>
        <translation>关于 mmsearch</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="871" />
        <source>mmsearch finds photos on your disk by what they show.</source>
        <translation>mmsearch 按内容查找你磁盘上的照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="873" />
        <source>Everything runs on this computer; your photos never leave it.</source>
        <translation>一切都在本机运行；你的照片不会离开这台电脑。</translation>
    </message>
</context>
<context>
    <name>PreviewPanel</name>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="148" />
        <location filename="../../mmsearch/ui/main_window.py" line="199" />
        <source>Select a photo to see it here.</source>
        <translation>选择一张照片，在这里查看。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="155" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="156" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="157" />
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="158" />
        <source>Dimensions</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="159" />
        <source>Taken</source>
        <translation>拍摄时间</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="160" />
        <source>Camera</source>
        <translation>相机</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="161" />
        <source>Score</source>
        <translation>分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="183" />
        <source>Loading…</source>
        <translation>加载中…</translation>
    </message>
</context>
<context>
    <name>ResultsModel</name>
    <message>
        <location filename="../../mmsearch/ui/results.py" line="118" />
        <source>score</source>
        <extracomment>File-type filter: label -&gt; extensions (lower case); empty means all.</extracomment>
        <translation>分数</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="116" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="125" />
        <source>download {size}</source>
        <translation>下载 {size}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="128" />
        <source>Languages: {languages}. License: {license}.</source>
        <translation>语言：{languages}。许可：{license}。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="137" />
        <source>Another model first looks at every photo again in the background; the current one answers searches until it is done.</source>
        <translation>换用其他模型时，新模型会先在后台把每张照片重新看一遍；完成之前仍由当前模型回答搜索。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="145" />
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="149" />
        <source>Models with a fusion head look again at this many of the best photos of a text search and re-order them. Other models ignore it.</source>
        <translation>带融合头的模型会对文字搜索的这么多张最佳照片再看一遍并重新排序。其他模型忽略此项。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="154" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="155" />
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="156" />
        <source>GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="165" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="172" />
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="175" />
        <source>A new device, data folder or language takes effect at the next start.</source>
        <translation>新的设备、数据文件夹或语言将在下次启动时生效。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="184" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="186" />
        <source>Re-rank best results</source>
        <translation>重排最佳结果</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="187" />
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="188" />
        <source>Thumbnail cache</source>
        <translation>缩略图缓存</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="189" />
        <location filename="../../mmsearch/ui/settings.py" line="196" />
        <source>Data folder</source>
        <translation>数据文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="190" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
</TS>