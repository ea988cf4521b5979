-- acs.lua - wrk script for the ACS throughput case.
--
-- Each wrk thread POSTs its own slice of the pre-minted responses, each one
-- once (a response posted twice is a replay and must be refused), and
-- counts statuses: only a redirect that sets a cookie is a login. When a
-- thread runs out of responses it stops, and the run reports "exhausted"
-- so the caller can tell an understated rate from a real one.
--
-- wrk -s acs.lua URL -- FORMFILE NTHREADS START MAXPERTHREAD [DELAYMS]
-- DELAYMS paces each connection (the soak test's steady trickle of logins).
local threads = {}
local nextid = 0

function setup(thread)
   thread:set("tid", nextid)
   nextid = nextid + 1
   table.insert(threads, thread)
end

function init(args)
   local path, nthreads = args[1], tonumber(args[2])
   local start, maxn = tonumber(args[3]), tonumber(args[4])
   bodies = {}
   local i = 0
   for line in io.lines(path) do
      if i >= start and (i - start) % nthreads == tid then
         bodies[#bodies + 1] = line
         if #bodies >= maxn then break end
      end
      i = i + 1
   end
   pace = tonumber(args[5] or "0")
   idx = 0
   ok, bad, exhausted = 0, 0, 0
   statuses = {}
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
   if idx >= #bodies then
      exhausted = 1
      wrk.thread:stop()
      -- Something must be returned; a GET of the ACS is not a login.
      return wrk.format("GET", wrk.path)
   end
   idx = idx + 1
   return wrk.format("POST", wrk.path, nil, bodies[idx])
end

function delay()
   return pace
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local cookie = headers["Set-Cookie"] or headers["set-cookie"]
   if (status == 302 or status == 303) and cookie ~= nil then
      ok = ok + 1
   else
      bad = bad + 1
   end
   -- Thread-local text for done(): tables do not cross Lua states.
   st = status_text()
end

function status_text()
   local parts = {}
   for k, v in pairs(statuses) do parts[#parts + 1] = k .. ":" .. v end
   return table.concat(parts, ",")
end

function done(summary, latency, requests)
   local tok, tbad, texh, used = 0, 0, 0, 0
   local st = {}
   for _, t in ipairs(threads) do
      tok = tok + t:get("ok")
      tbad = tbad + t:get("bad")
      texh = texh + t:get("exhausted")
      used = math.max(used, t:get("idx"))
      local s = t:get("st")
      if s ~= nil and s ~= "" then st[#st + 1] = s end
   end
   io.write(string.format("RESULT ok=%d bad=%d exhausted=%d used_per_thread=%d " ..
                          "duration_us=%d p50_us=%d p99_us=%d statuses=%s\n",
                          tok, tbad, texh, used, summary.duration,
                          latency:percentile(50), latency:percentile(99),
                          table.concat(st, ",")))
end
