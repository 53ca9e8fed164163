using Kv4.Services.Api;
using Kv4.Services.Generic;

namespace Kv4.Services.Data;

/// <summary>`_data`: user data, the generic layer semantics over layer `data`.</summary>
public sealed class DataService() : GenericLayerService(BuiltInServices.Data);
