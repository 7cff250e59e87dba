/**
 * tarpush as a library. The CLI is a thin layer over these: publish an archive, read one,
 * talk to a registry, write an OCI layout.
 */
export { publish, type PublishResult, type PublishedBlob } from './publish/publish.js';
export type { PublishOptions, FormatOption, CompressionOption } from './publish/options.js';
export type { PublishEvent, PublishListener } from './publish/events.js';
export { openArchive, selectImages, type OpenArchiveOptions } from './archive/index.js';
export { verifyImage, verifyLayer } from './image/verify.js';
export { describeImages, type ImageDescription } from './image/describe.js';
export type { Archive, ArchiveImage, ArchiveFormat, Image, ImageIndex, Layer, ByteSource, Descriptor, Platform } from './image/types.js';
export type { BlobSink, ManifestSink, ImageSink } from './image/sink.js';
export { MediaType } from './image/media-types.js';
export { RegistryClient, Repository, clientFor, closeSharedClients, type ClientOptions } from './registry/index.js';
export { resolveDigest, describeRemote, listTags, listCatalog, addTags, deleteReference, type RemoteOptions } from './remote/index.js';
export { parseReference, formatReference, type Reference } from './reference/index.js';
export { OciLayout, openLayout } from './ocidir/index.js';
export { DigestCache } from './cache/index.js';
export { TarpushError, ExitCode, type ErrorCode } from './errors.js';
