"""Commits settlements in a loop, printing each UUID only after its COMMIT returned (for test_crash)."""

import datetime as dt
import sys

from desktop_app.services import checkout
from desktop_app.store.db import connect

db = connect(sys.argv[1])
psn_nos = [r[0] for r in db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 50")]
codes = [
    r[0] for r in db.conn.execute("SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 20")
]
i = int(sys.argv[2])
TODAY = dt.date(2024, 6, 15)  # the desk's today: the visits are of that day
print("ready", flush=True)
while True:
    i += 1
    case = {
        "member": {"psn_no": psn_nos[i % len(psn_nos)]},
        "diagnoses": ["J06.900"],
        "date": "2024-06-15",
        "items": [{"code": codes[i % len(codes)], "quantity": 1 + i % 3}],
        "payment": {"use_account": i % 2 == 0},
    }
    out = checkout.confirm(db, case, "shouyin", today=TODAY)
    if i % 5 == 0:
        checkout.refund(db, out["uuid"], "admin", "admin123")
    print(out["uuid"], flush=True)
