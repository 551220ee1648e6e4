# ruff: noqa: E501
"""Fill mmsearch_zh_CN.ts with the Simplified Chinese translations kept here.

Workflow: `pyside6-lupdate mmsearch/ui/*.py -ts resources/translations/mmsearch_zh_CN.ts`
extracts new strings; add their translations below; run this script; `make install`
compiles the .ts into the .qm the app loads. A string without a translation is reported.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ZH_CN = {
    "Downloading the model…": "正在下载模型…",
    "A model switch is already running.": "已有一个模型切换正在进行。",
    "Switching to {model}": "正在切换到 {model}",
    "Model switch cancelled; the current model stays. Choosing it again resumes where it stopped.": "已取消切换模型，继续使用当前模型。再次选择它会从中断处继续。",
    "Now searching with {model}": "现在使用 {model} 搜索",
    ", {n} photos could not be read (see Folders)": "，{n} 张照片无法读取（见“文件夹”）",
    "Could not switch the model: {error}": "无法切换模型：{error}",
    "download {size}": "下载 {size}",
    "Languages: {languages}. License: {license}.": "语言：{languages}。许可：{license}。",
    "Another model first looks at every photo again in the background; the current one answers searches until it is done.": "换用其他模型时，新模型会先在后台把每张照片重新看一遍；完成之前仍由当前模型回答搜索。",
    "Off": "关闭",
    "Models with a fusion head look again at this many of the best photos of a text search and re-order them. Other models ignore it.": "带融合头的模型会对文字搜索的这么多张最佳照片再看一遍并重新排序。其他模型忽略此项。",
    "A new device, data folder or language takes effect at the next start.": "新的设备、数据文件夹或语言将在下次启动时生效。",
    "Re-rank best results": "重排最佳结果",
    "&About mmsearch": "关于 mmsearch(&A)",
    "&Add folder…": "添加文件夹(&A)…",
    "&File": "文件(&F)",
    "&Folders…": "文件夹(&O)…",
    "&Help": "帮助(&H)",
    "&Quit": "退出(&Q)",
    "&Settings…": "设置(&S)…",
    ", {n} could not be read (see Folders)": "，{n} 个无法读取（见“文件夹”）",
    "About mmsearch": "关于 mmsearch",
    "Add a folder of photos": "添加照片文件夹",
    "Add a folder of photos to start. mmsearch looks at every photo once, on this computer, "
    "with its built-in model; then type what you are looking for, or drop a photo to find "
    "similar ones.": "先添加一个照片文件夹。mmsearch 会在本机用内置模型把每张照片看一遍；"
    "然后输入你要找的内容，或拖入一张照片查找相似照片。",
    "Add a folder…": "添加文件夹…",
    "Add folder…": "添加文件夹…",
    "After": "晚于",
    "All folders": "全部文件夹",
    "All types": "全部类型",
    "Automatic": "自动",
    "Before": "早于",
    "Best first.": "最佳在前。",
    "Best match first": "最匹配优先",
    "Browse…": "浏览…",
    "CPU": "CPU",
    "Camera": "相机",
    "Cancel": "取消",
    "Cancelled: indexing resumes where it stopped next time.": "已取消：下次会从中断处继续索引。",
    "Candidate captions, one per line (or drop a .txt file)": "候选标题，每行一个（或拖入 .txt 文件）",
    "Caption ranking": "标题排序",
    "Copy path": "复制路径",
    "Data folder": "数据文件夹",
    "Describe a photo, e.g. “two kids on a beach at sunset” — or drop a photo here": "描述一张照片，例如“夕阳下海滩上的两个孩子”——或把照片拖到这里",
    "Device": "设备",
    "Device: {device}": "设备：{device}",
    "Dimensions": "尺寸",
    "Drop a photo first.": "请先拖入一张照片。",
    "Drop a photo here": "把照片拖到这里",
    "File size": "文件大小",
    "File that could not be read": "无法读取的文件",
    "Find similar photos": "查找相似照片",
    "Find your photos by what they show": "按照片内容查找你的照片",
    "Folder": "文件夹",
    "Folders": "文件夹",
    "GPU (CUDA)": "GPU（CUDA）",
    "Hide matches weaker than this score": "隐藏低于此分数的匹配",
    "Index now": "立即索引",
    "Indexed {n} photos": "已索引 {n} 张照片",
    "Indexing cancelled; it resumes where it stopped next time": "索引已取消；下次会从中断处继续",
    "Indexing stopped: {error}": "索引已停止：{error}",
    "Language": "语言",
    "Last run: {added} new, {updated} changed, {moved} moved, {removed} removed, "
    "{failed} could not be read.": "上次运行：新增 {added}，更改 {updated}，移动 {moved}，"
    "移除 {removed}，{failed} 个无法读取。",
    "Loading…": "加载中…",
    "Looking for photos…": "正在查找照片…",
    "Min. score": "最低分数",
    "Model": "模型",
    "Model: {name}": "模型：{name}",
    "Name": "名称",
    "Newest first": "最新优先",
    "No photos indexed yet: add a folder, or wait for indexing.": "还没有已索引的照片：请添加文件夹，或等待索引完成。",
    "No photos match. Lower the minimum score or change the filters.": "没有匹配的照片。请降低最低分数或更改筛选条件。",
    "No photos match. Try other words, or lower the minimum score.": "没有匹配的照片。换个说法试试，或降低最低分数。",
    "Open": "打开",
    "Open containing folder": "打开所在文件夹",
    "Other": "其他",
    "Photos": "照片",
    "Preview": "预览",
    "Rank captions": "标题排序",
    "Rank captions for this photo": "为这张照片排序标题",
    "Ranking…": "正在排序…",
    "Reason": "原因",
    "Remove": "移除",
    "Score": "分数",
    "Select a photo to see it here.": "选择一张照片，在这里查看。",
    "Settings": "设置",
    "Similar to: {name}": "相似于：{name}",
    "State": "状态",
    "Stopping after the current batch…": "当前批次完成后停止…",
    "System": "跟随系统",
    "Taken": "拍摄时间",
    "The new model is used from the next start, after re-indexing.": "新模型将在下次启动并重新索引后使用。",
    "Thumbnail cache": "缩略图缓存",
    "Type a description above — “a dog on a beach”, “snowy mountains”. Combine parts with + "
    "and -, or drop a photo to find similar ones.": "在上方输入描述——“海滩上的狗”“雪山”。"
    "可用 + 和 - 组合多个部分，或拖入照片查找相似照片。",
    "Type or drop at least one caption.": "请输入或拖入至少一个标题。",
    "What are you looking for?": "你在找什么？",
    "indexing…": "索引中…",
    "missing ({error})": "缺失（{error}）",
    "mmsearch finds photos on your disk by what they show.": "mmsearch 按内容查找你磁盘上的照片。",
    "Everything runs on this computer; your photos never leave it.": "一切都在本机运行；你的照片不会离开这台电脑。",
    "not found (kept)": "未找到（已保留）",
    "off": "关",
    "score": "分数",
    "up to date": "已是最新",
    "{count} photos indexed": "已索引 {count} 张照片",
    "{n} photos": "{n} 张照片",
    "{path} is not a folder.": "{path} 不是文件夹。",
    "{rate:.1f} photos/s, {eta} left": "每秒 {rate:.1f} 张，剩余 {eta}",
    "{shown} of {total} photos": "显示 {shown} / {total} 张照片",
    "the file type filter ({type})": "文件类型筛选（{type}）",
    "the minimum score ({score})": "最低分数（{score}）",
    "Every match is hidden by {filters}: change it to see them.": "所有匹配的照片都被{filters}隐藏了：更改后即可看到。",
    " and ": "和",
    "the filters": "筛选条件",
    "No photos indexed yet: indexing is under way.": "还没有已索引的照片：正在索引。",
    "in {folder}": "在 {folder} 中",
    "after {date}": "晚于 {date}",
    "before {date}": "早于 {date}",
    "None of the {n} indexed photos is {limits}: change the folder or date filter.": "已索引的 {n} 张照片中没有{limits}的：请更改文件夹或日期筛选。",
    ", ": "、",
    "No match among {n} indexed photos. Try other words.": "已索引的 {n} 张照片中没有匹配的。换个说法试试。",
    "No application opened {name}: right-click it for “Open containing folder” or “Copy path”.": "没有应用程序能打开 {name}：右键点击它，选择“打开所在文件夹”或“复制路径”。",
    "Indexing {done} of {total} new or changed photos…": "正在索引新增或更改的照片：{done} / {total}…",
    "No new or changed photos": "没有新增或更改的照片",
    "Up to date: no new or changed photos": "已是最新：没有新增或更改的照片",
    "Waiting: {who}": "等待中：{who}",
    "Waiting: {who}. Indexing starts when it has finished.": "等待中：{who}。它结束后开始索引。",
    "{who}: try again when it has finished.": "{who}：请在它结束后再试。",
    "Restore the backup of {when}": "恢复 {when} 的备份",
    "Start with an empty catalog": "从空目录开始",
    "; {folders} not reachable (drive unplugged?): its photos are kept": "；{folders} 无法访问（驱动器已拔出？）：其中的照片仍保留",
    "This search looks like {language}, which the current model does not read: the results may be poor.": "这次搜索看起来是{language}，当前模型读不懂：结果可能不准。",
    "Models that read {language}…": "能读{language}的模型…",
    "Could not get {model} ({error}): the current model stays; the offer is shown again next time.": "无法获取 {model}（{error}）：继续使用当前模型；下次会再次推荐。",
    "A model for this computer": "适合这台电脑的模型",
    "The figures come from the list of models mmsearch ships with; nothing is downloaded until you pick a model. The current model keeps answering searches while the new one looks at every photo in the background.": "这些数据来自 mmsearch 自带的模型列表；在你选定模型之前不会下载任何东西。新模型在后台把每张照片看一遍时，仍由当前模型回答搜索。",
    "Not now": "以后再说",
    "Models that read {languages}:": "能读{languages}的模型：",
    "mmsearch can search with a larger model that understands photos better. These fit this computer and your {n} photos:": "mmsearch 可以用更大的、更懂照片的模型来搜索。以下模型适合这台电脑和你的 {n} 张照片：",
    "Languages: {languages}": "语言：{languages}",
    "The catalogue has no other model that fits.": "模型列表中没有其他合适的模型。",
    "Download: size not recorded": "下载：大小未记录",
    "Download: {size} MB": "下载：{size} MB",
    "English": "英文",
    "Chinese": "中文",
    "Japanese": "日文",
    "Korean": "韩文",
    "Russian": "俄文",
    "many languages": "多种语言",
    "a Latin-script language": "一种拉丁字母语言",
    "Quality: no published figure in the catalogue": "质量：模型列表中没有公开的数据",
    "Quality: {metric}{dataset} {value} — source: {source}": "质量：{metric}{dataset} {value} — 来源：{source}",
    "under a minute": "不到一分钟",
    "about {minutes} min": "约 {minutes} 分钟",
    "about {hours} h": "约 {hours} 小时",
    "about {hours} h {minutes} min": "约 {hours} 小时 {minutes} 分钟",
    "Time to index: measuring this computer's speed…": "索引时间：正在测量这台电脑的速度…",
    "Time to index: not known for this model": "索引时间：此模型未知",
    "{duration} for your {n} photos on this computer": "在这台电脑上索引你的 {n} 张照片需{duration}",
    " (estimated from its architecture)": "（按其架构估算）",
    "best published quality that indexes your photos in time": "能在合理时间内索引完你的照片、公开质量最好的模型",
    "fastest on this computer": "在这台电脑上最快",
    "balanced: good quality at a good speed": "均衡：质量好，速度也不错",
    "good published quality": "公开质量好",
    "another model that fits": "另一个合适的模型",
    "reads the language of your search": "能读懂你搜索所用的语言",
    "Why: {reasons}": "推荐理由：{reasons}",
    "Download and use": "下载并使用",
    "Import only": "只能导入",
    "Not on the model hub in a layout mmsearch reads: export it and add it with `mmsearch models import FOLDER`.": "模型库中没有 mmsearch 能读的格式：请导出后用 `mmsearch models import FOLDER` 添加。",
    "Which model fits this computer…": "哪个模型适合这台电脑…",
    "Suggest a better model at start": "启动时推荐更好的模型",
    "Off: mmsearch never contacts the internet by itself. On: at start it offers a model that fits this computer, from the list it ships with; nothing is downloaded until you pick one.": "关闭：mmsearch 从不自行联网。开启：启动时从自带的模型列表中推荐适合这台电脑的模型；在你选定之前不会下载任何东西。",
}


def main(ts_file: Path) -> int:
    tree = ET.parse(ts_file)
    missing = []
    for message in tree.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        if translation is None:
            translation = ET.SubElement(message, "translation")
        if source in ZH_CN:
            translation.text = ZH_CN[source]
            translation.attrib.pop("type", None)
        else:
            missing.append(source)
    tree.write(ts_file, encoding="utf-8", xml_declaration=True)
    for source in missing:
        print(f"untranslated: {source!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(Path(__file__).with_name("mmsearch_zh_CN.ts")))
