vcl 4.1;

# bench-api's HTTP cache: one Varnish in front of both origins, so "cached" means the
# same on both sides. bench/bench_api.py fills in the ports (@ANGKA_PORT@ and
# @DATASETTE_PORT@) and starts varnishd with this file.
#
# Neither origin gets a rule of its own: each answer is cached for as long as its own
# Cache-Control says (Varnish's built-in logic), and the benchmark sets both to the
# same max-age (angka's API_MAX_AGE; Datasette's default_cache_ttl set to it).

backend angka {
    .host = "127.0.0.1";
    .port = "@ANGKA_PORT@";
}

backend datasette {
    .host = "127.0.0.1";
    .port = "@DATASETTE_PORT@";
}

sub vcl_recv {
    # angka's API lives under /api/ and /sdmx/; everything else is Datasette's.
    if (req.url ~ "^/(api|sdmx)/") {
        set req.backend_hint = angka;
    } else {
        set req.backend_hint = datasette;
    }
    # The benchmark's requests carry no cookie or credentials; drop any so both sides
    # are looked up in the cache the same way.
    unset req.http.Cookie;
}

sub vcl_deliver {
    # The benchmark checks that both sides' answers come from the cache.
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
