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
        <location filename="../../mmsearch/ui/folders.py" line="89" />
        <source>Folders</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="93" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="93" />
        <source>Photos</source>
        <translation>照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="93" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="99" />
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="101" />
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="103" />
        <source>Index now</source>
        <translation>立即索引</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="115" />
        <source>File that could not be read</source>
        <translation>无法读取的文件</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="115" />
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="131" />
        <source>indexing…</source>
        <translation>索引中…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="131" />
        <source>up to date</source>
        <translation>已是最新</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="133" />
        <source>not found (kept)</source>
        <translation>未找到（已保留）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="153" />
        <source>Last run: {added} new, {updated} changed, {moved} moved, {removed} removed, {failed} could not be read.</source>
        <translation>上次运行：新增 {added}，更改 {updated}，移动 {moved}，移除 {removed}，{failed} 个无法读取。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="163" />
        <source>Cancelled: indexing resumes where it stopped next time.</source>
        <translation>已取消：下次会从中断处继续索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="167" />
        <source>Add a folder of photos</source>
        <translation>添加照片文件夹</translation>
    </message>
</context>
<context>
    <name>IndexProgress</name>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="49" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="60" />
        <source>Looking for photos…</source>
        <translation>正在查找照片…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="69" />
        <source>{rate:.1f} photos/s, {eta} left</source>
        <translation>每秒 {rate:.1f} 张，剩余 {eta}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/folders.py" line="74" />
        <source>Stopping after the current batch…</source>
        <translation>当前批次完成后停止…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="245" />
        <source>Describe a photo, e.g. “two kids on a beach at sunset” — or drop a photo here</source>
        <translation>描述一张照片，例如“夕阳下海滩上的两个孩子”——或把照片拖到这里</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="255" />
        <source>After</source>
        <translation>晚于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="257" />
        <source>Before</source>
        <translation>早于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="271" />
        <source>All types</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="276" />
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="281" />
        <source>Best match first</source>
        <translation>最匹配优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="282" />
        <source>Newest first</source>
        <translation>最新优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="288" />
        <source>Hide matches weaker than this score</source>
        <translation>隐藏低于此分数的匹配</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="299" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="307" />
        <source>Min. score</source>
        <translation>最低分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="330" />
        <location filename="../../mmsearch/ui/main_window.py" line="438" />
        <source>Find your photos by what they show</source>
        <translation>按照片内容查找你的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="338" />
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="361" />
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="362" />
        <source>Caption ranking</source>
        <translation>标题排序</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="387" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="388" />
        <source>&amp;Add folder…</source>
        <translation>添加文件夹(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="391" />
        <source>&amp;Folders…</source>
        <translation>文件夹(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="393" />
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="396" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="403" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="404" />
        <source>&amp;About mmsearch</source>
        <translation>关于 mmsearch(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="419" />
        <source>All folders</source>
        <translation>全部文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="431" />
        <source>missing ({error})</source>
        <translation>缺失（{error}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="432" />
        <source>Model: {name}</source>
        <translation>模型：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="433" />
        <source>Device: {device}</source>
        <translation>设备：{device}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="435" />
        <location filename="../../mmsearch/ui/main_window.py" line="516" />
        <source>{count} photos indexed</source>
        <translation>已索引 {count} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="441" />
        <source>Add a folder of photos to start. mmsearch looks at every photo once, on this computer, with its built-in model; then type what you are looking for, or drop a photo to find similar ones.</source>
        <translation>先添加一个照片文件夹。mmsearch 会在本机用内置模型把每张照片看一遍；然后输入你要找的内容，或拖入一张照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="449" />
        <source>What are you looking for?</source>
        <translation>你在找什么？</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="452" />
        <source>Type a description above — “a dog on a beach”, “snowy mountains”. Combine parts with + and -, or drop a photo to find similar ones.</source>
        <translation>在上方输入描述——“海滩上的狗”“雪山”。可用 + 和 - 组合多个部分，或拖入照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="467" />
        <source>{path} is not a folder.</source>
        <translation>{path} 不是文件夹。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="486" />
        <source>Add a folder of photos</source>
        <translation>添加照片文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="525" />
        <source>Indexed {n} photos</source>
        <translation>已索引 {n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="527" />
        <source>, {n} could not be read (see Folders)</source>
        <translation>，{n} 个无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="529" />
        <source>Indexing cancelled; it resumes where it stopped next time</source>
        <translation>索引已取消；下次会从中断处继续</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="539" />
        <source>Indexing stopped: {error}</source>
        <translation>索引已停止：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="609" />
        <source>Similar to: {name}</source>
        <translation>相似于：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="624" />
        <source>No photos match. Try other words, or lower the minimum score.</source>
        <translation>没有匹配的照片。换个说法试试，或降低最低分数。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="626" />
        <source>No photos indexed yet: add a folder, or wait for indexing.</source>
        <translation>还没有已索引的照片：请添加文件夹，或等待索引完成。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="650" />
        <source>No photos match. Lower the minimum score or change the filters.</source>
        <translation>没有匹配的照片。请降低最低分数或更改筛选条件。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="660" />
        <source>off</source>
        <translation>关</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="667" />
        <source>{n} photos</source>
        <translation>{n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="670" />
        <source>{shown} of {total} photos</source>
        <translation>显示 {shown} / {total} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="702" />
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="704" />
        <source>Open containing folder</source>
        <translation>打开所在文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="708" />
        <source>Copy path</source>
        <translation>复制路径</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="712" />
        <source>Find similar photos</source>
        <translation>查找相似照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="713" />
        <source>Rank captions for this photo</source>
        <translation>为这张照片排序标题</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="767" />
        <source>The new model is used from the next start, after re-indexing.</source>
        <translation>新模型将在下次启动并重新索引后使用。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="773" />
        <source>About mmsearch</source>
        <translation>关于 mmsearch</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="774" />
        <source>mmsearch finds photos on your disk by what they show.</source>
        <translation>mmsearch 按内容查找你磁盘上的照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="776" />
        <source>Everything runs on this computer; your photos never leave it.</source>
        <translation>一切都在本机运行；你的照片不会离开这台电脑。</translation>
    </message>
</context>
<context>
    <name>PreviewPanel</name>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="147" />
        <location filename="../../mmsearch/ui/main_window.py" line="198" />
        <source>Select a photo to see it here.</source>
        <translation>选择一张照片，在这里查看。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="154" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="155" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="156" />
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="157" />
        <source>Dimensions</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="158" />
        <source>Taken</source>
        <translation>拍摄时间</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="159" />
        <source>Camera</source>
        <translation>相机</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="160" />
        <source>Score</source>
        <translation>分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="182" />
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
        <location filename="../../mmsearch/ui/settings.py" line="107" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="115" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="116" />
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="117" />
        <source>GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="126" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="133" />
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="135" />
        <source>A new data folder or language takes effect at the next start.</source>
        <translation>新的数据文件夹或语言将在下次启动时生效。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="143" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="144" />
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="145" />
        <source>Thumbnail cache</source>
        <translation>缩略图缓存</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="146" />
        <location filename="../../mmsearch/ui/settings.py" line="153" />
        <source>Data folder</source>
        <translation>数据文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="147" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
</TS>