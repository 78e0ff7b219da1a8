#!/usr/bin/env python3
"""tsjabberd / ejabberd external authentication example (auth_method: external).

The ejabberd guide's example script, ported to Python 3. The server writes a request as a 2-byte
big-endian length followed by the line (`auth:User:Server:Password`, `isuser:User:Server`, ...);
the script answers with a 2-byte length (always 2) and a 2-byte result: 1 for success, 0 for failure.

The line is split on ':' into at most 4 parts, so a password may contain ':'.
This example accepts a fixed table of users; a real one would ask a database, LDAP, a web service...
"""

import sys
from struct import pack, unpack

# user@server -> password (changed by setpass, tryregister and removeuser while the script runs)
USERS = {
    "alice@localhost": "wonderland",
    "bob@localhost": "builder",
    "carol@localhost": "pa:ss:word",
}


def from_ejabberd():
    input_length = sys.stdin.buffer.read(2)
    if len(input_length) < 2:
        sys.exit(0)  # the server closed our stdin: it is stopping
    (size,) = unpack(">H", input_length)
    return sys.stdin.buffer.read(size).decode("utf-8").split(":", 3)


def to_ejabberd(success):
    token = pack(">HH", 2, 1 if success else 0)
    sys.stdout.buffer.write(token)
    sys.stdout.buffer.flush()


def auth(username, server, password):
    return USERS.get(f"{username}@{server}") == password


def isuser(username, server):
    return f"{username}@{server}" in USERS


def setpass(username, server, password):
    if not isuser(username, server):
        return False
    USERS[f"{username}@{server}"] = password
    return True


def tryregister(username, server, password):
    if isuser(username, server):
        return False
    USERS[f"{username}@{server}"] = password
    return True


def removeuser(username, server):
    return USERS.pop(f"{username}@{server}", None) is not None


def removeuser3(username, server, password):
    return auth(username, server, password) and removeuser(username, server)


while True:
    data = from_ejabberd()
    success = False
    try:
        if data[0] == "auth":
            success = auth(data[1], data[2], data[3])
        elif data[0] == "isuser":
            success = isuser(data[1], data[2])
        elif data[0] == "setpass":
            success = setpass(data[1], data[2], data[3])
        elif data[0] == "tryregister":
            success = tryregister(data[1], data[2], data[3])
        elif data[0] == "removeuser":
            success = removeuser(data[1], data[2])
        elif data[0] == "removeuser3":
            success = removeuser3(data[1], data[2], data[3])
    except IndexError:
        success = False  # a malformed request: answer "no", never crash
    to_ejabberd(success)
