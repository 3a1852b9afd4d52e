"""Find and read the Schema-Guided Dialogue booking conversations.

The file is not in the repository (CC BY-SA 4.0 and 2 MB): it lives in
shared/data/ beside the repository, or wherever SGD_FILE points.
"""
import json
import os
import subprocess

FILE_NAME = "sgd-restaurant-bookings-train.jsonl"
REQUIRED_FIELDS = ("dialogue_id", "user_turns", "booking_turns", "gold", "gold_source", "now",
                   "expect")
DETAILS = ("party_size", "date", "time")


class DataError(Exception):
    """The conversations file is missing or a line of it is invalid."""


def repository_parents(top):
    """Return the folders that may hold shared/: the parent of the checkout
    and, for a linked git worktree, the parent of the main checkout."""
    parents = [os.path.dirname(top)]
    try:
        common = subprocess.run(["git", "-C", top, "rev-parse", "--path-format=absolute",
                                 "--git-common-dir"], check=True, capture_output=True,
                                text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return parents
    main_parent = os.path.dirname(os.path.dirname(common))
    if main_parent not in parents:
        parents.append(main_parent)
    return parents


def find_data_file(top):
    """Return the path of the conversations file: SGD_FILE when set, else
    shared/data/FILE_NAME beside the repository. Raise DataError naming every
    place looked at when there is none."""
    override = os.environ.get("SGD_FILE")
    if override:
        if not os.path.isfile(override):
            raise DataError(f"SGD_FILE={override} is not a file; point SGD_FILE at "
                            f"{FILE_NAME} or unset it")
        return override

    candidates = [os.path.join(parent, "shared", "data", FILE_NAME)
                  for parent in repository_parents(top)]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise DataError(f"{FILE_NAME} not found at {' or '.join(candidates)}; copy shared/ "
                    f"beside the repository or set SGD_FILE to the file's path")


def check_row(row, where):
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in row]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
    if not isinstance(row["user_turns"], list) or not row["user_turns"]:
        raise DataError(f"{where}: user_turns must be a non-empty list of strings")
    if not isinstance(row["booking_turns"], int) or row["booking_turns"] < 1:
        raise DataError(f"{where}: booking_turns must be a positive integer, "
                        f"got {row['booking_turns']!r}")
    expect = row["expect"]
    if not isinstance(expect, dict) or any(expect.get(k) is None for k in DETAILS):
        raise DataError(f"{where}: expect must give party_size, date and time, got {expect!r}")


def read_conversations(path):
    """Return the conversations of a JSON Lines file as dicts, in file order.
    Raise DataError on an unreadable file or an invalid line."""
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    row = json.loads(line)
                except ValueError as e:
                    raise DataError(f"{where}: invalid JSON: {e}") from None
                check_row(row, where)
                rows.append(row)
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    if not rows:
        raise DataError(f"{path} contains no conversations")
    return rows


def sample(rows, every=1, limit=None):
    """Return every n-th conversation, starting with the first, at most limit
    of them: a deterministic sample spread over the whole file."""
    picked = rows[::max(every, 1)]
    return picked[:limit] if limit else picked


def said_details(row):
    """Return the details the guest said while booking: party_size, date
    and/or time, in that order."""
    sources = row.get("gold_source") or {}
    return [k for k in DETAILS if sources.get(k) == "said"]
