"""The local Media Intelligence endpoint for tests and demos (`thumbsweep emulate`).

Import from the modules; this file stays empty so that `thumbsweep run`, which needs only
`options`, does not load the web server:

- `config`: `EmulatorConfig`, its credentials, address, latency, fault rates and limits;
- `state`: the persons and their thumbnails, and the counters (`EmulatorStats`);
- `responses`: the reply shapes of the gateway, the service and a proxy;
- `gateway`: the v2 signature check and the key's rate limit (token bucket);
- `faults`: `Fault`, `FaultPlan`, `RequestInfo`, and how each fault is served;
- `app`: `Emulator`, the aiohttp application with its routes and handlers;
- `serve`: `emulate_main`, the command that serves until a signal;
- `options`: the flags of `thumbsweep emulate`.
"""
