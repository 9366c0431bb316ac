"""The Lua scripts Redis runs for the proxy: each one reads and writes in one atomic step, so replicas that
admit requests at the same moment never both take the last place of a window (no read-then-write race).

Times come from Redis's own clock (`TIME`), the one clock every replica shares.
"""

# KEYS[1]: the key's window (sorted set of admission times, ms); KEYS[2]: the key's usage hash this budget period.
# ARGV: rpm (0: no limit), window ms, budget USD ('' : none), a member unique to this request.
# Returns {0, ''} admitted, {1, ms to wait} over the limit, {2, USD spent} over the budget.
ADMIT = """
if ARGV[3] ~= '' then
  local spent = tonumber(redis.call('HGET', KEYS[2], 'cost_usd') or '0')
  if spent >= tonumber(ARGV[3]) then return {2, tostring(spent)} end
end
local rpm = tonumber(ARGV[1])
if rpm > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local window = tonumber(ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, 'WITHSCORES')
    return {1, tostring(tonumber(oldest[2]) + window - now)}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
end
return {0, ''}
"""

# KEYS: usage hashes (per key and per model; day, month, total). ARGV: five values per KEY, in order: requests,
# prompt tokens, completion tokens, USD, time-to-live in seconds (0: kept).
RECORD = """
for i = 1, #KEYS do
  local a = (i - 1) * 5
  redis.call('HINCRBY', KEYS[i], 'requests', ARGV[a + 1])
  redis.call('HINCRBY', KEYS[i], 'prompt_tokens', ARGV[a + 2])
  redis.call('HINCRBY', KEYS[i], 'completion_tokens', ARGV[a + 3])
  redis.call('HINCRBYFLOAT', KEYS[i], 'cost_usd', ARGV[a + 4])
  local ttl = tonumber(ARGV[a + 5])
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
end
return #KEYS
"""
