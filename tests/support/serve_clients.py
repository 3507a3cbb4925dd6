"""Real third-party clients of `embarc serve`, driven by tests/serve.rs.

    serve_clients.py oembed ENDPOINT URL [MAXWIDTH]
        micawber (the oEmbed consumer library behind many Python CMS plugins)
        with one provider registration for X/Twitter posts and t.co links
        pointing at ENDPOINT. Prints JSON: what micawber's registry made of
        the answer ("data") and what its parse_text put in place of the URL
        written alone on a line ("parsed"), or {"error": …} when micawber
        refused the answer.

    serve_clients.py memento TIMEGATE_STEM REQUEST_URI ISO_DATETIME
        memento-client (the Memento project's Python client) with the server
        as its TimeGate (no native TimeGate check: the platforms are not
        reachable from a test). REQUEST_URI may be a memento: the client
        finds its original through rel="original". Prints the client's
        memento info as JSON (datetimes as ISO 8601).
"""

import json
import sys
from datetime import datetime


def oembed(endpoint, url, maxwidth=None):
    import micawber

    registry = micawber.ProviderRegistry()
    provider = micawber.Provider(endpoint, user_agent="embarc-test (micawber)")
    registry.register(r"https?://(www\.|mobile\.)?(twitter|x)\.com/\S+", provider)
    registry.register(r"https?://t\.co/\S+", provider)
    params = {}
    if maxwidth:
        params["maxwidth"] = int(maxwidth)
    try:
        data = registry.request(url, **params)
    except micawber.ProviderException as e:
        print(json.dumps({"error": str(e)}))
        return
    parsed = registry.parse_text("Before\n%s\nAfter" % url, **params)
    print(json.dumps({"data": data, "parsed": parsed}))


def memento(stem, request_uri, when):
    from memento_client import MementoClient

    dt = datetime.fromisoformat(when)
    client = MementoClient(timegate_uri=stem, check_native_timegate=False)
    info = client.get_memento_info(request_uri, dt)

    def plain(v):
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    print(json.dumps(plain(info)))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"oembed": oembed, "memento": memento}[mode](*args)
