"""Slack's `filetype` / `pretty_type` of an uploaded file, from its name (Slack's own file type identifiers: `text`
for .txt, `python` for .py, `javascript` for .js, not the extension), and a snippet's (`snippet_type` given to
files.getUploadURLExternal: mode `snippet`, that type). Names with no known extension are `binary`. The
pretty types are Slack's labels as its file objects show them [unc: the rarer ones]."""

from __future__ import annotations

# extension -> (filetype, pretty_type)
_BY_EXTENSION = {
    "txt": ("text", "Plain Text"),
    "text": ("text", "Plain Text"),
    "log": ("text", "Plain Text"),
    "csv": ("csv", "CSV"),
    "tsv": ("tsv", "TSV"),
    "json": ("json", "JSON"),
    "xml": ("xml", "XML"),
    "yaml": ("yaml", "YAML"),
    "yml": ("yaml", "YAML"),
    "md": ("markdown", "Markdown (raw)"),
    "html": ("html", "HTML"),
    "htm": ("html", "HTML"),
    "py": ("python", "Python"),
    "js": ("javascript", "JavaScript/JSON"),
    "sh": ("shell", "Shell"),
    "sql": ("sql", "SQL"),
    "pdf": ("pdf", "PDF"),
    "png": ("png", "PNG"),
    "jpg": ("jpg", "JPEG"),
    "jpeg": ("jpg", "JPEG"),
    "gif": ("gif", "GIF"),
    "svg": ("svg", "SVG"),
    "zip": ("zip", "Zip"),
    "gz": ("gzip", "GZip"),
    "tar": ("tar", "Tarball"),
    "doc": ("doc", "Word Document"),
    "docx": ("docx", "Word Document"),
    "xls": ("xls", "Excel Spreadsheet"),
    "xlsx": ("xlsx", "Excel Spreadsheet"),
    "ppt": ("ppt", "PowerPoint Presentation"),
    "pptx": ("pptx", "PowerPoint Presentation"),
    "eml": ("email", "Email"),
    "mp4": ("mp4", "MPEG 4 Video"),
    "mp3": ("mp3", "MP3"),
}
# snippet_type -> pretty_type (the common ones; any other accepted type shows as itself)
_SNIPPETS = {
    "text": "Plain Text",
    "python": "Python",
    "javascript": "JavaScript/JSON",
    "json": "JSON",
    "shell": "Shell",
    "sql": "SQL",
    "yaml": "YAML",
    "markdown": "Markdown (raw)",
    "csv": "CSV",
    "diff": "Diff",
    "go": "Go",
    "java": "Java",
    "ruby": "Ruby",
    "rust": "Rust",
    "xml": "XML",
}


def kind(filename: str, snippet_type: str | None = None) -> tuple[str, str, str]:
    """(filetype, pretty_type, mode) of a new upload."""
    if snippet_type:
        return snippet_type, _SNIPPETS.get(snippet_type, snippet_type.title()), "snippet"
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    filetype, pretty = _BY_EXTENSION.get(ext, ("binary", "Binary"))
    return filetype, pretty, "hosted"
