using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Common;

/// <summary>
/// The one rule for POST on every service that has both PUT and POST (http-api.md §2 Request template): a POST naming
/// a key that does not exist creates it, as PUT would (clients ported from the Xirsys v3 API create with POST); a POST
/// naming a key that exists is the service's update (`_data`/`_cfg`: compare-and-set on `_ver_`, `_acc`: a merge).
/// <code>
/// POST /_data/p {"k":"new","v":1}           → created (IfAbsent), as PUT
/// POST /_data/p {"k":"old","v":2}           → the update: _ver_missing without a _ver_
/// POST /_acc/accounts {"k":"lily","v":{..}} → created like PUT when lily does not exist, merged when she does
/// </code>
/// The create must be conditional on the key being absent, so two POSTs racing on a new key never both create:
/// the loser sees <see cref="EngineError.Exists"/> and is answered as an update of what the winner wrote.
/// </summary>
public static class PostCreates
{
    public static async ValueTask<ApiReply> CreateOrUpdateAsync(bool exists, Func<ValueTask<ApiReply>> createIfAbsent, Func<ValueTask<ApiReply>> update)
    {
        if (!exists)
        {
            try
            {
                return await createIfAbsent().ConfigureAwait(false);
            }
            catch (EngineException e) when (e.Error == EngineError.Exists)
            {
                // Created by a concurrent call between the look and the write: this POST is now an update of it.
            }
        }
        return await update().ConfigureAwait(false);
    }
}
