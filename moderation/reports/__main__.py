"""``python -m moderation.reports``: rewrite the committed JSON Schema from the report model."""

from pathlib import Path

from moderation.reports.formats import SCHEMA_FILE, schema_text

target = Path(__file__).with_name(SCHEMA_FILE.split("/")[0]) / SCHEMA_FILE.split("/")[1]
target.write_text(schema_text(), encoding="utf-8")
print(f"wrote {target}")
