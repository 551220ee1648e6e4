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
        <source>Reading the dates and places of {done} of {total} photos…</source>
        <translation>正在读取照片的日期和地点：第 {done} 张，共 {total} 张…</translation>
    </message>
    <message>
        <source>Search the words instead</source>
        <translation>按原文搜索</translation>
    </message>
    <message>
        <source>Don't take the place name for a place filter</source>
        <translation>不把地名当作地点筛选</translation>
    </message>
    <message>
        <source>Where the photos were taken (from their GPS)</source>
        <translation>照片的拍摄地点（来自 GPS）</translation>
    </message>
    <message>
        <source>All places</source>
        <translation>全部地点</translation>
    </message>
    <message>
        <source>All cameras</source>
        <translation>全部相机</translation>
    </message>
    <message>
        <source>all photos, newest first</source>
        <translation>全部照片，最新的在前</translation>
    </message>
    <message>
        <source>In {place}: {rest}</source>
        <translation>在{place}：{rest}</translation>
    </message>
    <message>
        <source>taken in {place}</source>
        <translation>拍摄于{place}</translation>
    </message>
    <message>
        <source>from {camera}</source>
        <translation>由{camera}拍摄</translation>
    </message>
    <message>
        <source>Text in photos</source>
        <translation>照片中的文字</translation>
    </message>
    <message>
        <source>Find only photos whose text holds these words (like typing text:invoice)</source>
        <translation>只找文字中含有这些词的照片（同输入 text:发票）</translation>
    </message>
    <message>
        <source>Reading text in photos</source>
        <translation>正在读取照片中的文字</translation>
    </message>
    <message>
        <source>Reading the text in {done} of {total} photos…</source>
        <translation>正在读取第 {done} / {total} 张照片中的文字…</translation>
    </message>
    <message>
        <source>Reading text stopped; it resumes where it stopped next time</source>
        <translation>文字读取已停止；下次从停下的地方继续</translation>
    </message>
    <message>
        <source>Read the text in {n} photos; {m} hold some</source>
        <translation>已读取 {n} 张照片中的文字；其中 {m} 张含有文字</translation>
    </message>
    <message>
        <source>Text in photos could not be read: {error}</source>
        <translation>无法读取照片中的文字：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="276" />
        <source>Describe a photo, e.g. “two kids on a beach at sunset” — or drop a photo here</source>
        <translation>描述一张照片，例如“夕阳下海滩上的两个孩子”——或把照片拖到这里</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="286" />
        <source>After</source>
        <translation>晚于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="288" />
        <source>Before</source>
        <translation>早于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="302" />
        <source>All types</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="307" />
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="312" />
        <source>Best match first</source>
        <translation>最匹配优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="313" />
        <source>Newest first</source>
        <translation>最新优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="319" />
        <source>Hide matches weaker than this score</source>
        <translation>隐藏低于此分数的匹配</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="330" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="338" />
        <source>Min. score</source>
        <translation>最低分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="364" />
        <location filename="../../mmsearch/ui/main_window.py" line="490" />
        <source>Find your photos by what they show</source>
        <translation>按照片内容查找你的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="372" />
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="395" />
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="396" />
        <source>Caption ranking</source>
        <translation>标题排序</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="435" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="436" />
        <source>&amp;Add folder…</source>
        <translation>添加文件夹(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="439" />
        <source>&amp;Folders…</source>
        <translation>文件夹(&amp;O)…</translation>
    </message>
    <message>
        <source>Find &amp;near-duplicates…</source>
        <translation>查找近似重复照片(&amp;N)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="441" />
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="444" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="451" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="452" />
        <source>&amp;About mmsearch</source>
        <translation>关于 mmsearch(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="467" />
        <source>All folders</source>
        <translation>全部文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="481" />
        <source>missing ({error})</source>
        <translation>缺失（{error}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="482" />
        <source>Model: {name}</source>
        <translation>模型：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="484" />
        <source>Device: {device}</source>
        <translation>设备：{device}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="487" />
        <source>{count} photos indexed</source>
        <translation>已索引 {count} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="493" />
        <source>Add a folder of photos to start. mmsearch looks at every photo once, on this computer, with its built-in model; then type what you are looking for, or drop a photo to find similar ones.</source>
        <translation>先添加一个照片文件夹。mmsearch 会在本机用内置模型把每张照片看一遍；然后输入你要找的内容，或拖入一张照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="501" />
        <source>What are you looking for?</source>
        <translation>你在找什么？</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="504" />
        <source>Type a description above — “a dog on a beach”, “snowy mountains”. Combine parts with + and -, or drop a photo to find similar ones.</source>
        <translation>在上方输入描述——“海滩上的狗”“雪山”。可用 + 和 - 组合多个部分，或拖入照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="519" />
        <source>{path} is not a folder.</source>
        <translation>{path} 不是文件夹。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="555" />
        <source>{who}: try again when it has finished.</source>
        <translation>{who}：请在它结束后再试。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="567" />
        <source>Add a folder of photos</source>
        <translation>添加照片文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="594" />
        <source>Looking for photos…</source>
        <translation>正在查找照片…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="602" />
        <source>Waiting: {who}</source>
        <translation>等待中：{who}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="604" />
        <source>Waiting: {who}. Indexing starts when it has finished.</source>
        <translation>等待中：{who}。它结束后开始索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="611" />
        <source>Indexing {done} of {total} new or changed photos…</source>
        <translation>正在索引新增或更改的照片：{done} / {total}…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="615" />
        <source>No new or changed photos</source>
        <translation>没有新增或更改的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="631" />
        <source>Indexed {n} photos</source>
        <translation>已索引 {n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="633" />
        <source>Up to date: no new or changed photos</source>
        <translation>已是最新：没有新增或更改的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="636" />
        <source>, {n} could not be read (see Folders)</source>
        <translation>，{n} 个无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="641" />
        <source>; {folders} not reachable (drive unplugged?): its photos are kept</source>
        <translation>；{folders} 无法访问（驱动器已拔出？）：其中的照片仍保留</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="644" />
        <source>Indexing cancelled; it resumes where it stopped next time</source>
        <translation>索引已取消；下次会从中断处继续</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="655" />
        <source>Indexing stopped: {error}</source>
        <translation>索引已停止：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="735" />
        <source>Similar to: {name}</source>
        <translation>相似于：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="760" />
        <source>the file type filter ({type})</source>
        <translation>文件类型筛选（{type}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="766" />
        <source>the minimum score ({score})</source>
        <translation>最低分数（{score}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="770" />
        <source>Every match is hidden by {filters}: change it to see them.</source>
        <translation>所有匹配的照片都被{filters}隐藏了：更改后即可看到。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="771" />
        <source> and </source>
        <translation>和</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="771" />
        <source>the filters</source>
        <translation>筛选条件</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="776" />
        <source>No photos indexed yet: indexing is under way.</source>
        <translation>还没有已索引的照片：正在索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="781" />
        <source>in {folder}</source>
        <translation>在 {folder} 中</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="783" />
        <source>after {date}</source>
        <translation>晚于 {date}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="785" />
        <source>before {date}</source>
        <translation>早于 {date}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="788" />
        <source>None of the {n} indexed photos is {limits}: change the filters.</source>
        <translation>已索引的 {n} 张照片中没有{limits}的：请更改筛选条件。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="789" />
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="790" />
        <source>No match among {n} indexed photos. Try other words.</source>
        <translation>已索引的 {n} 张照片中没有匹配的。换个说法试试。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="777" />
        <source>No photos indexed yet: add a folder, or wait for indexing.</source>
        <translation>还没有已索引的照片：请添加文件夹，或等待索引完成。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="821" />
        <source>off</source>
        <translation>关</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="828" />
        <source>{n} photos</source>
        <translation>{n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="831" />
        <source>{shown} of {total} photos</source>
        <translation>显示 {shown} / {total} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="866" />
        <source>No application opened {name}: right-click it for “Open containing folder” or “Copy path”.</source>
        <translation>没有应用程序能打开 {name}：右键点击它，选择“打开所在文件夹”或“复制路径”。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="878" />
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="880" />
        <source>Open containing folder</source>
        <translation>打开所在文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="884" />
        <source>Copy path</source>
        <translation>复制路径</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="888" />
        <source>Find similar photos</source>
        <translation>查找相似照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="889" />
        <source>Rank captions for this photo</source>
        <translation>为这张照片排序标题</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1017" />
        <source>This search looks like {language}, which the current model does not read: the results may be poor.</source>
        <translation>这次搜索看起来是{language}，当前模型读不懂：结果可能不准。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1022" />
        <source>Models that read {language}…</source>
        <translation>能读{language}的模型…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1040" />
        <source>A model switch is already running.</source>
        <translation>已有一个模型切换正在进行。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1062" />
        <source>Switching to {model}</source>
        <translation>正在切换到 {model}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1069" />
        <source>Model switch cancelled; the current model stays. Choosing it again resumes where it stopped.</source>
        <translation>已取消切换模型，继续使用当前模型。再次选择它会从中断处继续。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1079" />
        <source>Now searching with {model}</source>
        <translation>现在使用 {model} 搜索</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1081" />
        <source>, {n} photos could not be read (see Folders)</source>
        <translation>，{n} 张照片无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1098" />
        <source>Could not get {model} ({error}): the current model stays; the offer is shown again next time.</source>
        <translation>无法获取 {model}（{error}）：继续使用当前模型；下次会再次推荐。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1110" />
        <source>Could not switch the model: {error}</source>
        <translation>无法切换模型：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1130" />
        <source>About mmsearch</source>
        <translation>关于 mmsearch</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1131" />
        <source>mmsearch finds photos on your disk by what they show.</source>
        <translation>mmsearch 按内容查找你磁盘上的照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1133" />
        <source>Everything runs on this computer; your photos never leave it.</source>
        <translation>一切都在本机运行；你的照片不会离开这台电脑。</translation>
    </message>
</context>
<context>
    <name>ModelOfferDialog</name>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="158" />
        <source>A model for this computer</source>
        <translation>适合这台电脑的模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="167" />
        <source>The figures come from the list of models mmsearch ships with; nothing is downloaded until you pick a model. The current model keeps answering searches while the new one looks at every photo in the background.</source>
        <translation>这些数据来自 mmsearch 自带的模型列表；在你选定模型之前不会下载任何东西。新模型在后台把每张照片看一遍时，仍由当前模型回答搜索。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="174" />
        <source>Not now</source>
        <translation>以后再说</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="202" />
        <source>Models that read {languages}:</source>
        <translation>能读{languages}的模型：</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="209" />
        <source>mmsearch can search with a larger model that understands photos better. These fit this computer and your {n} photos:</source>
        <translation>mmsearch 可以用更大的、更懂照片的模型来搜索。以下模型适合这台电脑和你的 {n} 张照片：</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="220" />
        <source>Languages: {languages}</source>
        <translation>语言：{languages}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="232" />
        <source>The catalogue has no other model that fits.</source>
        <translation>模型列表中没有其他合适的模型。</translation>
    </message>
</context>
<context>
    <name>OfferTexts</name>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="59" />
        <source>Download: size not recorded</source>
        <translation>下载：大小未记录</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="60" />
        <source>Download: {size} MB</source>
        <translation>下载：{size} MB</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="67" />
        <source>English</source>
        <translation>英文</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="68" />
        <source>Chinese</source>
        <translation>中文</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="69" />
        <source>Japanese</source>
        <translation>日文</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="70" />
        <source>Korean</source>
        <translation>韩文</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="71" />
        <source>Russian</source>
        <translation>俄文</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="72" />
        <source>many languages</source>
        <translation>多种语言</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="73" />
        <source>a Latin-script language</source>
        <translation>一种拉丁字母语言</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="80" />
        <source>Quality: no published figure in the catalogue</source>
        <translation>质量：模型列表中没有公开的数据</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="82" />
        <source>Quality: {metric}{dataset} {value} — source: {source}</source>
        <translation>质量：{metric}{dataset} {value} — 来源：{source}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="89" />
        <source>under a minute</source>
        <translation>不到一分钟</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="92" />
        <source>about {minutes} min</source>
        <translation>约 {minutes} 分钟</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="94" />
        <source>about {hours} h</source>
        <translation>约 {hours} 小时</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="95" />
        <source>about {hours} h {minutes} min</source>
        <translation>约 {hours} 小时 {minutes} 分钟</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="99" />
        <source>Time to index: measuring this computer's speed…</source>
        <translation>索引时间：正在测量这台电脑的速度…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="101" />
        <source>Time to index: not known for this model</source>
        <translation>索引时间：此模型未知</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="102" />
        <source>{duration} for your {n} photos on this computer</source>
        <translation>在这台电脑上索引你的 {n} 张照片需{duration}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="106" />
        <source> (estimated from its architecture)</source>
        <translation>（按其架构估算）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="111" />
        <source>best published quality that indexes your photos in time</source>
        <translation>能在合理时间内索引完你的照片、公开质量最好的模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="112" />
        <source>fastest on this computer</source>
        <translation>在这台电脑上最快</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="113" />
        <source>balanced: good quality at a good speed</source>
        <translation>均衡：质量好，速度也不错</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="114" />
        <source>good published quality</source>
        <translation>公开质量好</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="115" />
        <source>another model that fits</source>
        <translation>另一个合适的模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="116" />
        <source>reads the language of your search</source>
        <translation>能读懂你搜索所用的语言</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="118" />
        <source>Why: {reasons}</source>
        <translation>推荐理由：{reasons}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="123" />
        <source>Download and use</source>
        <translation>下载并使用</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="123" />
        <source>Import only</source>
        <translation>只能导入</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/offer.py" line="127" />
        <source>Not on the model hub in a layout mmsearch reads: export it and add it with `mmsearch models import FOLDER`.</source>
        <translation>模型库中没有 mmsearch 能读的格式：请导出后用 `mmsearch models import FOLDER` 添加。</translation>
    </message>
</context>
<context>
    <name>PreviewPanel</name>
    <message>
        <source>Place</source>
        <translation>地点</translation>
    </message>
    <message>
        <source>{date} (from the file name)</source>
        <translation>{date}（来自文件名）</translation>
    </message>
    <message>
        <source>{date} (the file's time: no date in the photo)</source>
        <translation>{date}（文件时间：照片中没有日期）</translation>
    </message>
    <message>
        <source>{lat:.4f}, {lon:.4f} (no town near)</source>
        <translation>{lat:.4f}, {lon:.4f}（附近没有城镇）</translation>
    </message>
    <message>
        <source>Text in photo</source>
        <translation>照片中的文字</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="154" />
        <location filename="../../mmsearch/ui/main_window.py" line="205" />
        <source>Select a photo to see it here.</source>
        <translation>选择一张照片，在这里查看。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="161" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="162" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="163" />
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="164" />
        <source>Dimensions</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="165" />
        <source>Taken</source>
        <translation>拍摄时间</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="166" />
        <source>Camera</source>
        <translation>相机</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="167" />
        <source>Score</source>
        <translation>分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="189" />
        <source>Loading…</source>
        <translation>加载中…</translation>
    </message>
</context>
<context>
    <name>ResultsModel</name>
    <message>
        <source>Text: {words}</source>
        <translation>文字：{words}</translation>
    </message>
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
        <source>Read the text in photos after indexing</source>
        <translation>索引后读取照片中的文字</translation>
    </message>
    <message>
        <source>Signs, receipts, whiteboards: their words become searchable (type them, or text:word). It runs after indexing, in the background.</source>
        <translation>招牌、收据、白板：其中的文字可以搜索（直接输入，或 text:词）。在索引之后于后台进行。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="164" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="173" />
        <source>download {size}</source>
        <translation>下载 {size}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="176" />
        <source>Languages: {languages}. License: {license}.</source>
        <translation>语言：{languages}。许可：{license}。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="185" />
        <source>Another model first looks at every photo again in the background; the current one answers searches until it is done.</source>
        <translation>换用其他模型时，新模型会先在后台把每张照片重新看一遍；完成之前仍由当前模型回答搜索。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="190" />
        <source>Which model fits this computer…</source>
        <translation>哪个模型适合这台电脑…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="192" />
        <source>Suggest a better model at start</source>
        <translation>启动时推荐更好的模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="196" />
        <source>Off: mmsearch never contacts the internet by itself. On: at start it offers a model that fits this computer, from the list it ships with; nothing is downloaded until you pick one.</source>
        <translation>关闭：mmsearch 从不自行联网。开启：启动时从自带的模型列表中推荐适合这台电脑的模型；在你选定之前不会下载任何东西。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="204" />
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="208" />
        <source>Models with a fusion head look again at this many of the best photos of a text search and re-order them. Other models ignore it.</source>
        <translation>带融合头的模型会对文字搜索的这么多张最佳照片再看一遍并重新排序。其他模型忽略此项。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="213" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="214" />
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="215" />
        <source>GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="225" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="232" />
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="235" />
        <source>A new device, data folder or language takes effect at the next start.</source>
        <translation>新的设备、数据文件夹或语言将在下次启动时生效。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="244" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="248" />
        <source>Re-rank best results</source>
        <translation>重排最佳结果</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="249" />
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="250" />
        <source>Thumbnail cache</source>
        <translation>缩略图缓存</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="251" />
        <location filename="../../mmsearch/ui/settings.py" line="258" />
        <source>Data folder</source>
        <translation>数据文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="252" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
<context>
    <name>GroupRow</name>
    <message>
        <source>Keep (suggested)</source>
        <translation>保留（建议）</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>副本</translation>
    </message>
    <message>
        <source>Move the other one to the trash</source>
        <translation>将另一张移到回收站</translation>
    </message>
    <message>
        <source>Move the other {count} to the trash</source>
        <translation>将其余 {count} 张移到回收站</translation>
    </message>
    <message>
        <source>Similarity %1</source>
        <translation>相似度 %1</translation>
    </message>
</context>
<context>
    <name>DuplicatesDialog</name>
    <message>
        <source>Near-duplicates</source>
        <translation>近似重复照片</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Look again</source>
        <translation>重新查找</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Looking for near-duplicates…</source>
        <translation>正在查找近似重复照片…</translation>
    </message>
    <message>
        <source>comparing photos %v of %m</source>
        <translation>正在比较照片 %v / %m</translation>
    </message>
    <message>
        <source>No near-duplicates found.</source>
        <translation>没有找到近似重复照片。</translation>
    </message>
    <message>
        <source>1 group of near-duplicates, {copies} copies that could go; the suggested photo stays.</source>
        <translation>1 组近似重复照片，{copies} 张副本可以删除；建议保留的照片会留下。</translation>
    </message>
    <message>
        <source>{groups} groups of near-duplicates, {copies} copies that could go; the suggested photo of each group stays.</source>
        <translation>{groups} 组近似重复照片，{copies} 张副本可以删除；每组建议保留的照片会留下。</translation>
    </message>
    <message>
        <source>Moving {count} photos to the trash…</source>
        <translation>正在将 {count} 张照片移到回收站…</translation>
    </message>
    <message>
        <source>Moved {count} photos to the trash.</source>
        <translation>已将 {count} 张照片移到回收站。</translation>
    </message>
    <message>
        <source>Undo puts them back.</source>
        <translation>撤销可将其放回原处。</translation>
    </message>
    <message>
        <source>Putting photos back…</source>
        <translation>正在放回照片…</translation>
    </message>
    <message>
        <source>Put {count} photos back; they are being indexed again.</source>
        <translation>已放回 {count} 张照片，正在重新索引。</translation>
    </message>
</context>
</TS>