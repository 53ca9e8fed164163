namespace Kv4.Services.Storage;

/// <summary>
/// One bucket's storage, as a request's service sees it (<c>request.Store</c>): the seam where a cluster puts the
/// partition router and replication, so services never learn where a partition lives.
/// </summary>
public interface IBucketView : IBucketReadView, IBucketWriteView;
