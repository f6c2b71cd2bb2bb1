vcl 4.1;
# Varnish in front of angka (Debian bookworm: `apt-get install varnish varnish-modules`;
# xkey is in varnish-modules). Install as /etc/varnish/default.vcl, or point varnishd's
# -f at it; check it with `varnishd -C -f angka.vcl`. docs/scaling.md says where it runs.
#
# What it does, and why:
# - keeps what the origin says a shared cache may keep (Cache-Control: public), for its
#   s-maxage (Varnish reads it before max-age, which is 0 for browsers: they revalidate
#   each time, and this cache answers their If-None-Match with a 304 from its copy),
#   and nothing else: not the admin, not a request with a session or
#   CSRF cookie or an Authorization header, not a POST, not an answer that sets a
#   cookie or says private, no-store or no-cache (the origin: stats/httpcache.py,
#   stats/pagecache.py, stats/api/base.py);
# - one request to the origin for concurrent misses of one URL (Varnish's waiting list):
#   a public GET is never passed, and a "public, max-age=0" answer is not made a
#   hit-for-miss, so the URL's next misses are coalesced again;
# - serves a stale copy for up to 10 s while it fetches the new one in the background
#   (grace), and for up to an hour while the origin is down (the probe): set here, not
#   by stale-while-revalidate, which the origin does not send (browsers honour it too).
#   The probe marks the origin down only when it has not answered /healthz for several
#   probes in a row: a busy origin (a release-day burst queues the probe behind the answers being built)
#   is slow, not down, and with one backend "down" means a 503 for every miss;
# - stores the text answers it keeps (HTML, JSON, CSV, XML, SVG, JS, CSS) gzipped and
#   serves them so to clients that accept gzip (browsers do), unzipped to the others:
#   fewer bytes per answer. Only answers for a shared cache are compressed, so no
#   per-visitor secret (a CSRF token) is ever in a compressed body (BREACH). Varnish
#   weakens the origin's ETag to W/"..." when it compresses; If-None-Match compares
#   weakly (RFC 9110), at Varnish and at the origin (stats.api.cache.not_modified), so
#   revalidation still ends in 304;
# - after that, revalidates with the origin's ETag (If-None-Match; keep): the ETag
#   follows the data, so the origin answers 304 only if nothing changed. A purge that
#   never arrives therefore leaves an answer at most s-maxage + 10 s behind the origin;
# - purges precisely: the origin tags each answer (Surrogate-Key: all, kind:<page kind>,
#   indicator:<CODE>, release:<slug>, news:<slug>, public) and, after a publication
#   commits, sends "PURGE /" with the keys in an xkey-purge header
#   (HTTP_CACHE_PURGE_URLS; stats/httpcache.py);
# - passes /healthz and /readyz, uncached.

import std;
import xkey;

# The origin: gunicorn (deploy/angka-web.service). More web nodes: one backend each and
# a round-robin director (docs/scaling.md). The probe asks /healthz with this host in
# the Host header: it must be in the site's ALLOWED_HOSTS (or set .host_header).
# /healthz is cheap, but it waits for a free gunicorn thread like any request: under a
# release-day burst the threads are all building answers for seconds, and a short
# timeout made a slow origin "sick" (then every miss is a 503 until the probes pass
# again; BENCHMARKS.md, release-day section). So the timeout is long, and the origin is
# sick only when 6 of the last 8 probes failed (threshold 3 of window 8): a stopped
# origin (connection refused, at once) is noticed within about 6 intervals.
backend angka_web {
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 30s;
    .probe = {
        .url = "/healthz";
        .interval = 3s;
        .timeout = 10s;
        .window = 8;
        .threshold = 3;
        .initial = 3;
    }
}

# Who may purge: the machines of the web processes and Celery workers.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "xkey-purge header missing"));
        }
        set req.http.purged = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.purged));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url ~ "^/(admin/|healthz|readyz)") {
        return (pass);
    }
    if (req.http.Authorization) {
        return (pass);
    }
    # A visitor with a session (staff) or a CSRF token (after a form) is never served
    # from nor stored in the cache.
    if (req.http.Cookie ~ "(^|;)\s*(sessionid|csrftoken)=") {
        return (pass);
    }
    # Any other cookie (analytics) changes nothing the origin answers.
    unset req.http.Cookie;
    # Campaign parameters, on pages only: the read API and SDMX refuse an unknown
    # parameter (400), which must stay so; a page ignores them.
    if (req.url !~ "^/(api|sdmx)/" && req.url ~ "[?&](utm_[a-z]+|gclid|fbclid|mc_cid|mc_eid)=") {
        set req.url = regsuball(req.url, "(?<=[?&])(utm_[a-z]+|gclid|fbclid|mc_cid|mc_eid)=[^&]*(&|$)", "");
        set req.url = regsub(req.url, "[?&]+$", "");
    }
    # The API varies on Accept-Language. A header whose first choice is Indonesian or
    # English (with no lower weight) is answered in that language by the origin (Django
    # reads the first choice first): one variant each instead of one per browser.
    # Anything else goes to the origin as it is.
    if (req.http.Accept-Language ~ "^\s*(?i)(id|en)([-_][a-z0-9]+)*\s*(;\s*q\s*=\s*1(\.0*)?\s*)?(,|$)") {
        set req.http.Accept-Language = std.tolower(regsub(req.http.Accept-Language, "^\s*([A-Za-z]{2}).*$", "\1"));
    }
    # Stale answers while a fresh one is fetched: 10 s while the origin is healthy, up
    # to the objects' grace (an hour) while it is down.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 10s;
    }
    return (hash);
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    # The origin's surrogate keys, in the header xkey reads.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    if (beresp.http.Set-Cookie
        || beresp.http.Cache-Control !~ "(?i)(^|[ ,])public([ ,]|$)"
        || beresp.http.Cache-Control ~ "(?i)(private|no-store|no-cache)"
        || beresp.http.Vary ~ "\*") {
        # Not for a shared cache. Hit-for-miss for a few seconds only: should the URL's
        # next answer be public, it is coalesced and kept again soon.
        set beresp.ttl = 5s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # Text for a shared cache, not compressed yet (whitenoise's static files may be):
    # stored gzipped, unzipped on delivery for a client that does not accept gzip. An
    # answer revalidated with a 304 keeps its stored gzipped body, Content-Encoding and
    # weak ETag (tests/deploy), so it is not compressed twice.
    if (!beresp.http.Content-Encoding
        && beresp.http.Content-Type ~ "(?i)^(text/|image/svg\+xml|application/(json|xml|javascript|csv|[a-z0-9.-]+\+(json|xml)))") {
        set beresp.do_gzip = true;
    }
    # The origin's lifetime for the caches it purges (stats/httpcache.py): past the next
    # scheduled instant, up to the publication's purge. Not passed on to a cache in front.
    if (beresp.http.Surrogate-Control ~ "(?i)(^|[ ,])max-age=[0-9]+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, "(?i)^(.*[ ,])?max-age=([0-9]+).*$", "\2s"), 0s);
    }
    unset beresp.http.Surrogate-Control;
    if (beresp.ttl <= 0s) {
        # "public, max-age=0": built across a publication (stats/httpcache.py), or its
        # data generation ends now. Given to the requests waiting for it, not kept, and
        # not hit-for-miss.
        set beresp.grace = 0s;
        set beresp.keep = 0s;
        return (deliver);
    }
    set beresp.grace = 1h;
    set beresp.keep = 1h;
    return (deliver);
}

sub vcl_deliver {
    # The keys are for caches: a CDN in front of this Varnish reads Surrogate-Key, so
    # keep it there (Fastly removes it itself).
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    if (obj.uncacheable) {
        set resp.http.X-Cache = "pass";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "hit";
    } else {
        set resp.http.X-Cache = "miss";
    }
}
