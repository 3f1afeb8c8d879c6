package release

// ManifestBlobKeys is manifestBlobKeys, for the codec's external tests.
var ManifestBlobKeys = manifestBlobKeys
