-- get.lua - wrk script for the authenticated GET case: counts statuses so
-- that a redirect to the IdP or a 403 is never counted as a served page.
-- Optional args: COOKIE (sent as the Cookie header), DELAYMS (pacing).
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok, bad = 0, 0
   statuses = {}
   st = ""
   if args[1] ~= nil and args[1] ~= "" then
      wrk.headers["Cookie"] = args[1]
   end
   pace = tonumber(args[2] or "0")
end

function delay()
   return pace
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 200 then ok = ok + 1 else bad = bad + 1 end
   if status ~= 200 or ok % 1000 == 1 then
      local parts = {}
      for k, v in pairs(statuses) do parts[#parts + 1] = k .. ":" .. v end
      st = table.concat(parts, ",")
   end
end

function done(summary, latency, requests)
   local tok, tbad = 0, 0
   local st_all = {}
   for _, t in ipairs(threads) do
      tok = tok + t:get("ok")
      tbad = tbad + t:get("bad")
      st_all[#st_all + 1] = t:get("st") or ""
   end
   io.write(string.format("RESULT ok=%d bad=%d exhausted=0 used_per_thread=0 " ..
                          "duration_us=%d p50_us=%d p99_us=%d statuses=%s\n",
                          tok, tbad, summary.duration, latency:percentile(50),
                          latency:percentile(99), table.concat(st_all, ";")))
end
