"""stagecraft templates list | show"""

from __future__ import annotations

import click

from . import output
from .settings import global_options


@click.group(help="""List and inspect the templates `stagecraft new` uses.

Built-in templates ship with Stagecraft; user templates live in
$STAGECRAFT_TEMPLATES_DIR (default ~/.config/stagecraft/templates), one
directory each, or come from any directory or git URL given to --template.

\b
Examples:
  stagecraft templates list
  stagecraft templates show platform
  stagecraft templates show https://git.example.com/acme/template.git -o json
""")
@global_options
def templates():
    pass


@templates.command("list", help="""List the built-in and user templates.

\b
Examples:
  stagecraft templates list -o json
""")
@global_options
def list_():
    from ..scaffold.source import INTERNAL, available, user_dir

    rows = [{"name": t.name, "description": t.description, "source": t.source, "internal": t.name in INTERNAL}
            for t in available()]

    def text(data):
        width = max(len(r["name"]) for r in data)
        lines = [f"{r['name']:<{width}}  {r['description']}"
                 + (" [used by init/attach]" if r["internal"] else "")
                 + ("" if r["source"] == "built-in" else f" ({r['source']})") for r in data]
        return "\n".join(lines + [f"user templates: {user_dir()}"])

    output.data(rows, text)


@templates.command(help="""Show a template: its variables (type, default, validation), files and messages.

\b
Examples:
  stagecraft templates show platform
  stagecraft templates show ./my-template
""")
@click.argument("template_ref", metavar="TEMPLATE")
@global_options
def show(template_ref: str):
    from ..scaffold.source import open_template

    with open_template(template_ref) as template:
        data = template.describe()

    def text(d):
        lines = [f"{d['name']}: {d['description']}", f"source: {d['source']}"]
        if d["include"]:
            lines.append(f"includes: {', '.join(d['include'])}")
        lines.append("variables:" if d["variables"] else "variables: none")
        for v in d["variables"]:
            rule = ", ".join(f"{k} {v[k]}" for k in ("pattern", "minimum", "maximum", "choices") if k in v)
            lines.append(f"  {v['name']} ({v['type']}, default {v['default']!r}){': ' + rule if rule else ''}")
            if v["description"]:
                lines.append(f"      {v['description']}")
        lines.append(f"files ({len(d['files'])}): " + ", ".join(d["files"]))
        if d["ci_workflow"]:
            lines.append(f"CI workflow: deploys {', '.join(d['ci_workflow'].get('environments') or [])}")
        return "\n".join(lines)

    output.data(data, text)
