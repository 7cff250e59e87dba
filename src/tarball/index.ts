/**
 * Tar archives as places to write images to: docker-save (`docker-archive:`) and OCI layout
 * archives (`oci-archive:`). Both are ImageSinks with a commit step: `close()` writes the
 * index files and moves the archive under its name, `abort()` removes what was written.
 */
export { DockerArchiveSink, type DockerArchiveOptions } from './docker-archive.js';
export { OciArchiveSink, type OciArchiveOptions } from './oci-archive.js';
export type { TarSink } from './tar-sink.js';
