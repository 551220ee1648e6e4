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
        <location filename="../../mmsearch/ui/app.py" line="112" />
        <source>Restore the backup of {when}</source>
        <translation>恢复 {when} 的备份</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/app.py" line="118" />
        <source>Start with an empty catalog</source>
        <translation>从空目录开始</translation>
    </message>
</context>
<context>
    <name>DuplicatesDialog</name>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="141" />
        <source>Near-duplicates</source>
        <translation>近似重复</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="162" />
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="166" />
        <source>Look again</source>
        <translation>重新查找</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="168" />
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="186" />
        <source>Looking for near-duplicates…</source>
        <translation>正在查找近似重复的照片…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="197" />
        <source>comparing photos %v of %m</source>
        <translation>正在比较照片 %v / %m</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="216" />
        <source>No near-duplicates found.</source>
        <translation>没有找到近似重复的照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="221" />
        <source>1 group of near-duplicates, {copies} copies that could go; the suggested photo stays.</source>
        <translation>1 组近似重复，{copies} 张副本可以删除；建议保留的照片会留下。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="226" />
        <source>{groups} groups of near-duplicates, {copies} copies that could go; the suggested photo of each group stays.</source>
        <translation>{groups} 组近似重复，{copies} 张副本可以删除；每组建议保留的照片会留下。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="248" />
        <source>Moving {count} photos to the trash…</source>
        <translation>正在把 {count} 张照片移到回收站…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="272" />
        <source>Moved {count} photos to the trash.</source>
        <translation>已把 {count} 张照片移到回收站。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="275" />
        <source>Undo puts them back.</source>
        <translation>撤销可将它们放回原处。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="289" />
        <source>Putting photos back…</source>
        <translation>正在放回照片…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="294" />
        <source>Put {count} photos back; they are being indexed again.</source>
        <translation>已放回 {count} 张照片；正在重新索引。</translation>
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
    <name>GroupRow</name>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="92" />
        <source>Keep (suggested)</source>
        <translation>保留（建议）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="92" />
        <source>Copy</source>
        <translation>副本</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="100" />
        <source>Move the other one to the trash</source>
        <translation>把另一张移到回收站</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="102" />
        <source>Move the other {count} to the trash</source>
        <translation>把其他 {count} 张移到回收站</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/duplicates.py" line="108" />
        <source>Similarity %1</source>
        <translation>相似度 %1</translation>
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
        <location filename="../../mmsearch/ui/main_window.py" line="712" />
        <source>Reading the dates and places of {done} of {total} photos…</source>
        <translation>正在读取照片的日期和地点：{done} / {total}…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="341" />
        <source>Search the words instead</source>
        <translation>改为搜索这些词语</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="342" />
        <source>Don't take the place name for a place filter</source>
        <translation>不要把地名当作地点筛选</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="351" />
        <source>Where the photos were taken (from their GPS)</source>
        <translation>照片的拍摄地点（来自 GPS）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="853" />
        <source>All places</source>
        <translation>所有地点</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="865" />
        <source>All cameras</source>
        <translation>所有相机</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="987" />
        <source>all photos, newest first</source>
        <translation>所有照片，最新的在前</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="989" />
        <source>In {place}: {rest}</source>
        <translation>在{place}：{rest}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1035" />
        <location filename="../../mmsearch/ui/main_window.py" line="1037" />
        <source>taken in {place}</source>
        <translation>拍摄于{place}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1039" />
        <source>from {camera}</source>
        <translation>来自 {camera}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="332" />
        <source>Text in photos</source>
        <translation>照片中的文字</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="335" />
        <source>Find only photos whose text holds these words (like typing text:invoice)</source>
        <translation>只查找文字中含有这些词语的照片（如同输入 text:发票）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="775" />
        <source>Reading text in photos</source>
        <translation>正在读取照片中的文字</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="780" />
        <source>Reading the text in {done} of {total} photos…</source>
        <translation>正在读取照片中的文字：{done} / {total}…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="800" />
        <source>Reading text stopped; it resumes where it stopped next time</source>
        <translation>已停止读取文字；下次会从中断处继续</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="804" />
        <source>Read the text in {n} photos; {m} hold some</source>
        <translation>已读取 {n} 张照片的文字；其中 {m} 张含有文字</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="815" />
        <source>Text in photos could not be read: {error}</source>
        <translation>无法读取照片中的文字：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="322" />
        <source>Describe a photo, e.g. “two kids on a beach at sunset” — or drop a photo here</source>
        <translation>描述一张照片，例如“夕阳下海滩上的两个孩子”——或把照片拖到这里</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="355" />
        <source>After</source>
        <translation>晚于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="357" />
        <source>Before</source>
        <translation>早于</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="371" />
        <source>All types</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="376" />
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="381" />
        <source>Best match first</source>
        <translation>最匹配优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="382" />
        <source>Newest first</source>
        <translation>最新优先</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="388" />
        <source>Hide matches weaker than this score</source>
        <translation>隐藏低于此分数的匹配</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="403" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="413" />
        <source>Min. score</source>
        <translation>最低分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="439" />
        <location filename="../../mmsearch/ui/main_window.py" line="568" />
        <source>Find your photos by what they show</source>
        <translation>按照片内容查找你的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="447" />
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="470" />
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="471" />
        <source>Caption ranking</source>
        <translation>标题排序</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="510" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="511" />
        <source>&amp;Add folder…</source>
        <translation>添加文件夹(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="514" />
        <source>&amp;Folders…</source>
        <translation>文件夹(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="516" />
        <source>Find &amp;near-duplicates…</source>
        <translation>查找近似重复(&amp;N)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="518" />
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="521" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="528" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="529" />
        <source>&amp;About mmsearch</source>
        <translation>关于 mmsearch(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="544" />
        <source>All folders</source>
        <translation>全部文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="559" />
        <source>missing ({error})</source>
        <translation>缺失（{error}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="560" />
        <source>Model: {name}</source>
        <translation>模型：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="562" />
        <source>Device: {device}</source>
        <translation>设备：{device}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="565" />
        <source>{count} photos indexed</source>
        <translation>已索引 {count} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="571" />
        <source>Add a folder of photos to start. mmsearch looks at every photo once, on this computer, with its built-in model; then type what you are looking for, or drop a photo to find similar ones.</source>
        <translation>先添加一个照片文件夹。mmsearch 会在本机用内置模型把每张照片看一遍；然后输入你要找的内容，或拖入一张照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="579" />
        <source>What are you looking for?</source>
        <translation>你在找什么？</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="582" />
        <source>Type a description above — “a dog on a beach”, “snowy mountains”. Combine parts with + and -, or drop a photo to find similar ones.</source>
        <translation>在上方输入描述——“海滩上的狗”“雪山”。可用 + 和 - 组合多个部分，或拖入照片查找相似照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="597" />
        <source>{path} is not a folder.</source>
        <translation>{path} 不是文件夹。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="633" />
        <source>{who}: try again when it has finished.</source>
        <translation>{who}：请在它结束后再试。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="666" />
        <source>Mapping the library's roots…</source>
        <translation>正在映射照片库的根目录…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="670" />
        <source>Add a folder of photos</source>
        <translation>添加照片文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="697" />
        <source>Looking for photos…</source>
        <translation>正在查找照片…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="705" />
        <source>Waiting: {who}</source>
        <translation>等待中：{who}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="707" />
        <source>Waiting: {who}. Indexing starts when it has finished.</source>
        <translation>等待中：{who}。它结束后开始索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="723" />
        <source>Indexing {done} of {total} new or changed photos…</source>
        <translation>正在索引新增或更改的照片：{done} / {total}…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="727" />
        <source>No new or changed photos</source>
        <translation>没有新增或更改的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="743" />
        <source>Indexed {n} photos</source>
        <translation>已索引 {n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="745" />
        <source>Up to date: no new or changed photos</source>
        <translation>已是最新：没有新增或更改的照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="748" />
        <source>, {n} could not be read (see Folders)</source>
        <translation>，{n} 个无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="753" />
        <source>; {folders} not reachable (drive unplugged?): its photos are kept</source>
        <translation>；{folders} 无法访问（驱动器已拔出？）：其中的照片仍保留</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="756" />
        <source>Indexing cancelled; it resumes where it stopped next time</source>
        <translation>索引已取消；下次会从中断处继续</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="767" />
        <source>Indexing stopped: {error}</source>
        <translation>索引已停止：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="961" />
        <source>Similar to: {name}</source>
        <translation>相似于：{name}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="974" />
        <source>Best of {sample} of {total} photos while the index opens…</source>
        <translation>索引打开期间，先从 {total} 张中的 {sample} 张里给出最佳结果…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="980" />
        <source>Answered by the library's server while this computer's index opens…</source>
        <translation>本机索引打开期间，由照片库的服务器给出结果…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1011" />
        <source>the file type filter ({type})</source>
        <translation>文件类型筛选（{type}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1017" />
        <source>the minimum score ({score})</source>
        <translation>最低分数（{score}）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1021" />
        <source>Every match is hidden by {filters}: change it to see them.</source>
        <translation>所有匹配的照片都被{filters}隐藏了：更改后即可看到。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1022" />
        <source> and </source>
        <translation>和</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1022" />
        <source>the filters</source>
        <translation>筛选条件</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1027" />
        <source>No photos indexed yet: indexing is under way.</source>
        <translation>还没有已索引的照片：正在索引。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1032" />
        <source>in {folder}</source>
        <translation>在 {folder} 中</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1041" />
        <source>after {date}</source>
        <translation>晚于 {date}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1043" />
        <source>before {date}</source>
        <translation>早于 {date}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1046" />
        <source>None of the {n} indexed photos is {limits}: change the filters.</source>
        <translation>已索引的 {n} 张照片中没有{limits}的：请更改筛选条件。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1047" />
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1048" />
        <source>No match among {n} indexed photos. Try other words.</source>
        <translation>已索引的 {n} 张照片中没有匹配的。换个说法试试。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1028" />
        <source>No photos indexed yet: add a folder, or wait for indexing.</source>
        <translation>还没有已索引的照片：请添加文件夹，或等待索引完成。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1079" />
        <source>off</source>
        <translation>关</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1086" />
        <source>{n} photos</source>
        <translation>{n} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1089" />
        <source>{shown} of {total} photos</source>
        <translation>显示 {shown} / {total} 张照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1124" />
        <source>No application opened {name}: right-click it for “Open containing folder” or “Copy path”.</source>
        <translation>没有应用程序能打开 {name}：右键点击它，选择“打开所在文件夹”或“复制路径”。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1136" />
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1138" />
        <source>Open containing folder</source>
        <translation>打开所在文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1142" />
        <source>Copy path</source>
        <translation>复制路径</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1146" />
        <source>Find similar photos</source>
        <translation>查找相似照片</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1147" />
        <source>Rank captions for this photo</source>
        <translation>为这张照片排序标题</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1299" />
        <source>This search looks like {language}, which the current model does not read: the results may be poor.</source>
        <translation>这次搜索看起来是{language}，当前模型读不懂：结果可能不准。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1304" />
        <source>Models that read {language}…</source>
        <translation>能读{language}的模型…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1323" />
        <source>A model switch is already running.</source>
        <translation>已有一个模型切换正在进行。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1344" />
        <source>Switching to {model}</source>
        <translation>正在切换到 {model}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1351" />
        <source>Model switch cancelled; the current model stays. Choosing it again resumes where it stopped.</source>
        <translation>已取消切换模型，继续使用当前模型。再次选择它会从中断处继续。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1361" />
        <source>Now searching with {model}</source>
        <translation>现在使用 {model} 搜索</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1363" />
        <source>, {n} photos could not be read (see Folders)</source>
        <translation>，{n} 张照片无法读取（见“文件夹”）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1380" />
        <source>Could not get {model} ({error}): the current model stays; the offer is shown again next time.</source>
        <translation>无法获取 {model}（{error}）：继续使用当前模型；下次会再次推荐。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1392" />
        <source>Could not switch the model: {error}</source>
        <translation>无法切换模型：{error}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1428" />
        <source>About mmsearch</source>
        <translation>关于 mmsearch</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1429" />
        <source>mmsearch finds photos on your disk by what they show.</source>
        <translation>mmsearch 按内容查找你磁盘上的照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="1431" />
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
        <location filename="../../mmsearch/ui/main_window.py" line="175" />
        <source>Place</source>
        <translation>地点</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="210" />
        <source>{date} (from the file name)</source>
        <translation>{date}（来自文件名）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="212" />
        <source>{date} (the file's time: no date in the photo)</source>
        <translation>{date}（文件时间：照片中没有日期）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="219" />
        <source>{lat:.4f}, {lon:.4f} (no town near)</source>
        <translation>{lat:.4f}, {lon:.4f}（附近没有城镇）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="178" />
        <source>Text in photo</source>
        <translation>照片中的文字</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="163" />
        <location filename="../../mmsearch/ui/main_window.py" line="236" />
        <source>Select a photo to see it here.</source>
        <translation>选择一张照片，在这里查看。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="170" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="171" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="172" />
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="173" />
        <source>Dimensions</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="174" />
        <source>Taken</source>
        <translation>拍摄时间</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="176" />
        <source>Camera</source>
        <translation>相机</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="177" />
        <source>Score</source>
        <translation>分数</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/main_window.py" line="202" />
        <source>Loading…</source>
        <translation>加载中…</translation>
    </message>
</context>
<context>
    <name>ResultsModel</name>
    <message>
        <location filename="../../mmsearch/ui/results.py" line="120" />
        <source>Text: {words}</source>
        <translation>文字：{words}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/results.py" line="118" />
        <source>score</source>
        <translation>分数</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="239" />
        <source>Read the text in photos after indexing</source>
        <translation>索引后读取照片中的文字</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="243" />
        <source>Signs, receipts, whiteboards: their words become searchable (type them, or text:word). It runs after indexing, in the background.</source>
        <translation>招牌、收据、白板：其中的文字可被搜索（直接输入，或用 text:词语）。在索引之后于后台进行。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="191" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="200" />
        <source>download {size}</source>
        <translation>下载 {size}</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="203" />
        <source>Languages: {languages}. License: {license}.</source>
        <translation>语言：{languages}。许可：{license}。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="212" />
        <source>Another model first looks at every photo again in the background; the current one answers searches until it is done.</source>
        <translation>换用其他模型时，新模型会先在后台把每张照片重新看一遍；完成之前仍由当前模型回答搜索。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="217" />
        <source>Which model fits this computer…</source>
        <translation>哪个模型适合这台电脑…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="219" />
        <source>Suggest a better model at start</source>
        <translation>启动时推荐更好的模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="223" />
        <source>Off: mmsearch never contacts the internet by itself. On: at start it offers a model that fits this computer, from the list it ships with; nothing is downloaded until you pick one.</source>
        <translation>关闭：mmsearch 从不自行联网。开启：启动时从自带的模型列表中推荐适合这台电脑的模型；在你选定之前不会下载任何东西。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="231" />
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="235" />
        <source>Models with a fusion head look again at this many of the best photos of a text search and re-order them. Other models ignore it.</source>
        <translation>带融合头的模型会对文字搜索的这么多张最佳照片再看一遍并重新排序。其他模型忽略此项。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="248" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="249" />
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="250" />
        <source>GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="260" />
        <location filename="../../mmsearch/ui/settings.py" line="351" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="268" />
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="272" />
        <source>A new device, data folder, library server or language takes effect at the next start.</source>
        <translation>新的设备、数据文件夹、照片库服务器或语言将在下次启动时生效。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="309" />
        <source>In the data folder, on this computer</source>
        <translation>在数据文件夹中（本机）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="310" />
        <source>On a PostgreSQL server, shared</source>
        <translation>在 PostgreSQL 服务器上（共享）</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="316" />
        <source>A database on a PostgreSQL server with the pgvector extension. Every computer that uses it searches the same library; each keeps its own thumbnails and models. `mmsearch library migrate` copies a library there.</source>
        <translation>装有 pgvector 扩展的 PostgreSQL 服务器上的数据库。使用它的每台电脑搜索同一个照片库；各自保留自己的缩略图和模型。`mmsearch library migrate` 可把照片库复制过去。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="323" />
        <source>kept in the system keyring</source>
        <translation>保存在系统钥匙串中</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="326" />
        <source>Saved in this computer's keyring (Keychain, Credential Locker, Secret Service), never in a file. Left empty: the saved one, or ~/.pgpass.</source>
        <translation>保存在本机的钥匙串中（Keychain、凭据管理器、Secret Service），绝不写入文件。留空：使用已保存的密码或 ~/.pgpass。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="330" />
        <source>Test the connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="344" />
        <source>not mapped on this computer</source>
        <translation>本机尚未映射</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="347" />
        <source>Where this computer sees the share the library calls “{name}”: its photos are found there.</source>
        <translation>本机上照片库称为“{name}”的共享所在的位置：在那里查找它的照片。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="374" />
        <source>Write the server as postgresql://user@host/database.</source>
        <translation>请把服务器写成 postgresql://用户@主机/数据库。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="377" />
        <source>Asking the server…</source>
        <translation>正在询问服务器…</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="396" />
        <source>The share's folder</source>
        <translation>共享的文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="422" />
        <source>{text} is not a server's address: write it as postgresql://user@host/database (the library stays where it was)</source>
        <translation>{text} 不是服务器地址：请写成 postgresql://用户@主机/数据库（照片库保持原样）</translation>
    </message>
    <message>
        <source>A new device, data folder or language takes effect at the next start.</source>
        <translation>新的设备、数据文件夹或语言将在下次启动时生效。</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="283" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="287" />
        <source>Re-rank best results</source>
        <translation>重排最佳结果</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="289" />
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="290" />
        <source>Thumbnail cache</source>
        <translation>缩略图缓存</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="291" />
        <location filename="../../mmsearch/ui/settings.py" line="438" />
        <source>Data folder</source>
        <translation>数据文件夹</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="292" />
        <source>Library</source>
        <translation>照片库</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="296" />
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="297" />
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="300" />
        <source>Root “{name}”</source>
        <translation>根目录“{name}”</translation>
    </message>
    <message>
        <location filename="../../mmsearch/ui/settings.py" line="301" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
</TS>