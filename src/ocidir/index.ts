export { OciLayout, openLayout, OCI_LAYOUT_FILE, type LayoutOptions } from './layout.js';
export { REF_NAME_ANNOTATION, isRefName } from './tag.js';
export type { IndexJson } from './index-json.js';
