#!/usr/bin/env python3
"""adminedit.py: one edit through the master's admin UI, as a browser does it.

Logs in (the login form's token, then the session cookie), opens a page's
edit form, saves it with a new body (the form's CSRF token and every other
field as the form shows them), starts "Build and publish" and polls the
job until it finishes. Prints the median milliseconds from the save to the
finished job over RUNS edits, then the last job's state.

Usage: adminedit.py ADMIN_ADDR PASSWORD HOST PATH [RUNS]
"""
import html.parser
import http.cookiejar
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request


class Form(html.parser.HTMLParser):
    """The named fields of the form whose action is `action`."""

    def __init__(self, action):
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}
        self.textarea = self.select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif a.get("type") not in ("submit", "button"):
                self.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            self.textarea, self.fields[name] = name, ""
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select and ("selected" in a or self.select not in self.fields):
            self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea] += data


def main():
    addr, password, host, path = sys.argv[1:5]
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    base = "http://" + addr
    jar = http.cookiejar.CookieJar()
    ua = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(p):
        with ua.open(base + p) as r:
            return r.read().decode(), r.geturl()

    def post(p, fields):
        with ua.open(base + p, urllib.parse.urlencode(fields).encode()) as r:
            return r.read().decode(), r.geturl()

    page, _ = get("/login")
    login = Form("/login")
    login.feed(page)
    login.fields.update(name="admin", password=password, site="")
    post("/login", login.fields)

    times, status = [], None
    for i in range(runs):
        page, _ = get("/sites/%s/pages/edit?path=%s" % (host, urllib.parse.quote(path)))
        form = Form("/sites/%s/pages" % host)
        form.feed(page)
        if "csrf" not in form.fields:
            sys.exit("adminedit: no page form (not logged in?)")
        form.fields["body"] = "Edited through the admin UI, %d at %d." % (i, time.time_ns())
        t0 = time.perf_counter()
        post("/sites/%s/pages" % host, form.fields)
        _, job = post("/sites/%s/buildpublish" % host, {"csrf": form.fields["csrf"]})
        while True:
            body, _ = get(urllib.parse.urlparse(job).path + "/status")
            status = json.loads(body)
            if status.get("finished"):
                break
            time.sleep(0.002)
        times.append((time.perf_counter() - t0) * 1000)
        if status.get("state") != "done":
            sys.exit("adminedit: job ended %s: %s" % (status.get("state"), status.get("error")))
    print("%d" % statistics.median(times))
    print("job %s: %s, release %s, %d ms in the job; %s" % (status.get("id"), status.get("state"), status.get("release"), status.get("elapsed_ns", 0) // 1000000, "; ".join(status.get("lines") or [])), file=sys.stderr)


if __name__ == "__main__":
    main()
