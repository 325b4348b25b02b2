"""Real servers on 127.0.0.1 (Redis, Mosquitto, PostgreSQL, RTSP) for the tests and the benchmarks."""
