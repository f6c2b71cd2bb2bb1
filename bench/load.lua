-- bench-load: one wrk process per path. Counts answers other than 200/304 and, per
-- ETag, the body lengths seen: one ETag with two lengths is a response that mixes two
-- versions (bench/bench_load.py hashes whole bodies on the side as well).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  mixed = 0
  lengths = {}
  counts = {}
end

function response(status, headers, body)
  if status ~= 200 and status ~= 304 then
    bad = bad + 1
  end
  local etag = headers["ETag"] or headers["etag"]
  if etag == nil then
    -- a page: only its status is checked
    counts["none"] = (counts["none"] or 0) + 1
    return
  end
  local n = #body
  local seen = lengths[etag]
  if seen == nil then
    lengths[etag] = n
  elseif seen ~= n then
    mixed = mixed + 1
  end
  counts[etag] = (counts[etag] or 0) + 1
end

function done(summary, latency, requests)
  local bad_total, mixed_total, etags = 0, 0, {}
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    mixed_total = mixed_total + thread:get("mixed")
    for etag, count in pairs(thread:get("counts")) do
      etags[etag] = (etags[etag] or 0) + count
    end
  end
  local parts = {}
  for etag, count in pairs(etags) do
    table.insert(parts, string.format("%q:%d", etag, count))
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"bad":%d,"mixed":%d,' ..
    '"etags":{%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout, bad_total, mixed_total,
    table.concat(parts, ",")))
end
