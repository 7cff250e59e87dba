import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import type { Descriptor, Platform } from '../../src/image/types.js';
import { isAttestation, parsePlatform, platformMatches, platformText, selectPlatform } from '../../src/image/platform.js';

const entry = (n: number, platform: Platform, annotations?: Record<string, string>): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 500,
  platform,
  ...(annotations ? { annotations } : {}),
});

test('parsePlatform takes os/arch[/variant] and refuses anything else as USAGE', () => {
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('Linux/ARM64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  for (const bad of ['linux', 'linux/', '/amd64', 'linux/arm/v7/x', 'linux amd64', '']) {
    assert.throws(() => parsePlatform(bad), (e) => isTarpushError(e, 'USAGE'), bad);
  }
  assert.equal(platformText({ os: 'linux', architecture: 'arm', variant: 'v6' }), 'linux/arm/v6');
  assert.equal(platformText(undefined), 'unknown');
});

test('platforms compare like containerd: aliases, arm64 = arm64/v8, arm = arm/v7', () => {
  assert.ok(platformMatches({ os: 'linux', architecture: 'amd64' }, parsePlatform('linux/x86_64')));
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, parsePlatform('linux/aarch64'), true));
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm64' }, parsePlatform('linux/arm64/v8'), true));
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm' }, parsePlatform('linux/arm/v7'), true));
  assert.ok(!platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, parsePlatform('linux/arm/v7')));
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, parsePlatform('linux/arm')));
  assert.ok(!platformMatches({ os: 'windows', architecture: 'amd64' }, parsePlatform('linux/amd64')));
  assert.ok(!platformMatches(undefined, parsePlatform('linux/amd64')));
});

test('selectPlatform: exact match first, a lone variant otherwise, ambiguity and absence named; attestations ignored', () => {
  const entries = [
    entry(1, { os: 'linux', architecture: 'amd64' }),
    entry(2, { os: 'linux', architecture: 'arm', variant: 'v6' }),
    entry(3, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    entry(4, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    entry(5, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
  ];
  assert.equal(selectPlatform(entries, parsePlatform('linux/amd64'), 'x'), entries[0]);
  assert.equal(selectPlatform(entries, parsePlatform('linux/arm'), 'x'), entries[2], 'plain arm means arm/v7');
  assert.equal(selectPlatform(entries, parsePlatform('linux/arm/v6'), 'x'), entries[1]);
  assert.equal(selectPlatform(entries, parsePlatform('linux/arm64'), 'x'), entries[3]);
  assert.ok(isAttestation(entries[4]!));
  assert.throws(() => selectPlatform(entries, parsePlatform('unknown/unknown'), 'reg/app:v1'), (e) => isTarpushError(e, 'IMAGE_NOT_FOUND'));
  assert.throws(
    () => selectPlatform(entries, parsePlatform('linux/s390x'), 'reg/app:v1'),
    (e) => isTarpushError(e, 'IMAGE_NOT_FOUND') && /reg\/app:v1: .*linux\/amd64, linux\/arm\/v6, linux\/arm\/v7, linux\/arm64\/v8\)/.test(e.message),
  );
  const twoVariants = [entry(6, { os: 'linux', architecture: 'riscv64', variant: 'a' }), entry(7, { os: 'linux', architecture: 'riscv64', variant: 'b' })];
  assert.throws(() => selectPlatform(twoVariants, parsePlatform('linux/riscv64'), 'x'), (e) => isTarpushError(e, 'IMAGE_AMBIGUOUS'));
});
