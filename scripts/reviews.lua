-- wrk: realistic UPDATEs of eni-config, one denied and one allowed (with a
-- warning), alternating. Used by scripts/bench.sh and scripts/instructions.sh.
local bodies = {}
for i, f in ipairs({"examples/review-denied.json", "examples/review-allowed.json"}) do
  local h = io.open(f, "rb"); bodies[i] = h:read("*a"); h:close()
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/validate?timeout=5s", {["Content-Type"] = "application/json"}, bodies[n % 2 + 1])
end
