-- wrk: realistic UPDATEs of eni-config, one denied and one allowed (with a
-- warning), alternating, each with a fresh uid and a different max_pool_size
-- in the new object, so no cache of whole reviews (or of the new object) can
-- answer one. Used by scripts/bench.sh and scripts/instructions.sh.
local bodies = {}
for i, f in ipairs({"examples/review-denied.json", "examples/review-allowed.json"}) do
  local h = io.open(f, "rb"); bodies[i] = h:read("*a"); h:close()
end
-- REVIEWS_NAMESPACE=default moves every review out of Terway's namespace,
-- so terway-guard decodes it and allows it without judging (the pass-through
-- rows of bench.sh and instructions.sh).
local ns = os.getenv("REVIEWS_NAMESPACE")
if ns and ns ~= "" then
  for i, b in ipairs(bodies) do
    bodies[i] = b:gsub('"namespace": "kube%-system"', '"namespace": "' .. ns .. '"')
  end
end
local n = 0
request = function()
  n = n + 1
  local body = bodies[n % 2 + 1]
  body = body:gsub('"uid": "[^"]*"', string.format('"uid": "5f1c2a9e-%04x-4000-8000-%012x"', n % 65536, n), 1)
  -- The first max_pool_size is the new object's (object precedes oldObject).
  body = body:gsub('\\"max_pool_size\\": 30', '\\"max_pool_size\\": ' .. (20 + n % 80), 1)
  return wrk.format("POST", "/validate?timeout=5s", {["Content-Type"] = "application/json"}, body)
end
