local now = tonumber(ARGV[3])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
set_state(KEYS[1], KEYS[7], 'failed')
redis.call('DEL', KEYS[1])
record_error(KEYS[8], KEYS[9], ARGV[5], ARGV[1], 'robots', ARGV[4], now, 1)
release(KEYS[2], KEYS[3], KEYS[4], ARGV[2], now, 0)
return 1
