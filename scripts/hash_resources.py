"""Write resources/SHA256SUMS: the SHA-256 of every shipped resource file (skeletons, demo data).

Run after changing a shipped resource: ``.venv/bin/python scripts/hash_resources.py``. ``gmdesk doctor``
checks the files against the list; a test checks that the list is current.
"""

from gmdesk.io.resources import resource_files, write_hash_list

if __name__ == "__main__":
    out = write_hash_list()
    print(f"wrote {out} ({len(resource_files())} files)")
