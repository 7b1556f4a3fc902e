"""Look up a user's display name."""

USERS = {"u1": {"name": "Ada"}, "u2": {"name": "Grace"}}


def display_name(user_id, users=USERS):
    record = users[user_id]
    return record["name"].upper()
