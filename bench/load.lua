-- The wrk script of bench-load and bench-release-day.
--
-- bench-load (the default): for every response it counts answers other than 200/304
-- and, per ETag, the body lengths seen: one ETag with two lengths is a response that
-- mixes two versions (the benchmark hashes whole bodies on the side as well). It also
-- counts Varnish's X-Cache verdicts.
--
-- Settings, from the environment:
--   ANGKA_LOAD_BODIES   "off": no response() callback at all, so wrk hands no body to
--                       Lua and measures the server, not the script (bench-release-day,
--                       whose checker hashes the bodies on a few connections of its
--                       own); errors and answers other than 2xx/3xx then come from
--                       wrk's own counts (summary.errors).
--   ANGKA_LOAD_PATHS    tab-separated paths; wrk's thread i asks only for path i (round
--                       robin when there are more threads than paths), so each thread's
--                       counts are one path's. The path is set in init(), before wrk
--                       builds the thread's one request: no request() callback either.
--   ANGKA_LOAD_MARKERS  tab-separated, one per path: a text only the new data contain
--                       ("-": none). Each response is old (no marker) or new; the
--                       thread records the wall-clock time (ms) of its last old and its
--                       first new response, and how many times the marker occurs in
--                       each new body (fewer than in the full new body: a response
--                       mixing old and new data).
-- Without paths wrk asks for the URL of its command line.
--
-- done() writes one line, RESULT {json}, with wrk's counts and latency percentiles
-- ("percentiles": [[percent, microseconds], ...]), from which the runs of several wrk
-- processes add up to one distribution. (Not wrk's whole histogram: reading it from
-- Lua scans the histogram from its start for every value, minutes on a long tail.)
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } angka_timeval;
  int gettimeofday(angka_timeval *tv, void *tz);
]]
local timeval = ffi.new("angka_timeval")

local function now_ms()
  ffi.C.gettimeofday(timeval, nil)
  return tonumber(timeval.tv_sec) * 1000 + tonumber(timeval.tv_usec) / 1000
end

local function split(text)
  local parts = {}
  if text == nil or text == "" then
    return parts
  end
  for part in string.gmatch(text, "[^\t]+") do
    table.insert(parts, part)
  end
  return parts
end

local paths = split(os.getenv("ANGKA_LOAD_PATHS"))
local markers = split(os.getenv("ANGKA_LOAD_MARKERS"))
local bodies = os.getenv("ANGKA_LOAD_BODIES") ~= "off"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  if #paths > 0 then
    local index = (#threads - 1) % #paths + 1
    thread:set("path", paths[index])
    thread:set("marker", markers[index] or "-")
  end
end

function init(args)
  bad = 0
  mixed = 0
  lengths = {}
  conflicts = {}
  counts = {}
  cache = {}
  old_count = 0
  new_count = 0
  old_last = 0
  new_first = 0
  marker_counts = {}
  if path ~= nil then
    -- wrk.init builds the thread's request from wrk.path after this returns.
    wrk.path = path
  end
end

local function occurrences(body, text)
  local found, start = 0, 1
  while true do
    local at = string.find(body, text, start, true)
    if at == nil then
      return found
    end
    found = found + 1
    start = at + #text
  end
end

local function response_check(status, headers, body)
  if status ~= 200 and status ~= 304 then
    bad = bad + 1
  end
  local verdict = headers["X-Cache"] or headers["x-cache"]
  if verdict ~= nil then
    cache[verdict] = (cache[verdict] or 0) + 1
  end
  if marker ~= nil and marker ~= "-" and status == 200 then
    local found = occurrences(body, marker)
    if found == 0 then
      old_count = old_count + 1
      old_last = now_ms()
    else
      new_count = new_count + 1
      if new_first == 0 then
        new_first = now_ms()
      end
      marker_counts[found] = (marker_counts[found] or 0) + 1
    end
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
    conflicts[etag] = n
  end
  counts[etag] = (counts[etag] or 0) + 1
end

-- wrk hands bodies to Lua only when the script has a response() function.
if bodies then
  response = response_check
end

local function json_counts(map, quote)
  local parts = {}
  for key, count in pairs(map) do
    if quote then
      table.insert(parts, string.format("%q:%d", key, count))
    else
      table.insert(parts, string.format('"%d":%d', key, count))
    end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local bad_total, mixed_total, etags, per_thread = 0, 0, {}, {}
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    mixed_total = mixed_total + thread:get("mixed")
    local thread_etags = thread:get("counts")
    for etag, count in pairs(thread_etags) do
      etags[etag] = (etags[etag] or 0) + count
    end
    local lengths_seen = {}
    for etag, length in pairs(thread:get("lengths")) do
      lengths_seen[etag] = length
    end
    table.insert(per_thread, string.format(
      '{"path":%q,"bad":%d,"mixed":%d,"old":%d,"new":%d,"old_last_ms":%.1f,' ..
      '"new_first_ms":%.1f,"cache":%s,"etags":%s,"lengths":%s,"conflicts":%s,' ..
      '"marker_counts":%s}',
      thread:get("path") or "", thread:get("bad"), thread:get("mixed"),
      thread:get("old_count"), thread:get("new_count"), thread:get("old_last"),
      thread:get("new_first"), json_counts(thread:get("cache"), true),
      json_counts(thread_etags, true), json_counts(lengths_seen, true),
      json_counts(thread:get("conflicts"), true),
      json_counts(thread:get("marker_counts"), false)))
  end
  local points = {}
  for _, percent in ipairs({ 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9 }) do
    table.insert(points, string.format("[%g,%d]", percent, latency:percentile(percent)))
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"bad":%d,"mixed":%d,' ..
    '"etags":%s,"threads":[%s],"min_us":%d,"percentiles":[%s]}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout, bad_total, mixed_total,
    json_counts(etags, true), table.concat(per_thread, ","),
    latency.min, table.concat(points, ",")))
end
