"""keepout sites query: its JSON lines are JSON whatever the store's text holds."""
import json
import os
import sys

from kotest import main, polygon_store, run

RING = [[8.0, 53.0], [8.001, 53.0], [8.001, 53.001], [8.0, 53.001], [8.0, 53.0]]
QUERY = ("--ring", "7.9995 52.9995,8.0015 52.9995,8.0015 53.0015,7.9995 53.0015",
         "--camera", "8.0005,53.0005")


def hit_names(db, *extra):
    code, out, err = run("sites", "query", "-q", "--db", db, *extra, *QUERY)
    assert code == 1, (code, out, err)  # a hit: flagged
    lines = out.splitlines()
    return [json.loads(line)["name"] for line in lines]  # each line one JSON document


def test_site_name_with_quote_backslash_newline_and_non_ascii(tmp):
    name = 'Umspannwerk "Nord"\\Süd\nZeile 2 \u00e9\u6771'
    db = polygon_store(tmp, [(name, RING)])
    assert hit_names(db) == [name]
    assert hit_names(db, "--packed") == [name]


def test_site_name_with_control_characters(tmp):
    name = "tab\there\x01bell\x07 del\x7f end"
    db = polygon_store(tmp, [(name, RING)])
    assert hit_names(db) == [name]


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
