/** Archive readers: open kaniko / docker save / OCI layout archives and pick images from them. */
export { openArchive, type OpenArchiveOptions } from './open.js';
export { selectImages, describeChoices, type ImageSelection } from './select.js';
export { normaliseRepoTag, sameRepoTag } from './repo-tag.js';
