/** Image references and registry names, in Docker's grammar. */
export {
  type Reference,
  parseReference,
  parseRepository,
  formatReference,
  repositoryName,
  withTag,
  withDigest,
  referenceEquals,
  normaliseName,
  ggcrName,
  isTag,
  NAME_MAX_LENGTH,
  TAG_MAX_LENGTH,
} from './reference.js';
export {
  parseRegistry,
  isDockerHub,
  isLoopbackRegistry,
  dockerConfigKeys,
  DOCKER_HUB_REGISTRY,
  DOCKER_HUB_CONFIG_KEY,
} from './registry-host.js';
