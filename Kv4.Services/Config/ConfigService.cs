using Kv4.Services.Api;
using Kv4.Services.Generic;

namespace Kv4.Services.Config;

/// <summary>
/// `_cfg` (http-api.md §5.13): service configuration with the generic layer semantics over layer `cfg` — versions with
/// history (`time_series=1`), compare-and-set POST, and the host's generic `?watch=1` stream, so a service can read
/// its settings and follow their changes. Each bucket has its own configuration tree, like `_data`.
/// </summary>
public sealed class ConfigService() : GenericLayerService(BuiltInServices.Config);
