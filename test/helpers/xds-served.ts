import type { DiscoveryResponse } from '../../src/protocol/ads-types';
import { DEFAULT_KEEPALIVE } from '../../src/router/net/keepalive';
import { openAdsStream } from '../../src/router/xds/ads-codec';

/** Per type: the version served and every resource's bytes (base64, sorted). */
export type Served = Record<string, { version: string; resources: string[] }>;

/**
 * What a control plane serves for `types`, from a raw wildcard ADS stream (each type's first response):
 * two replicas that serve the same content give equal results.
 */
export async function served(address: string, types: readonly string[]): Promise<Served> {
  const stream = openAdsStream(address, DEFAULT_KEEPALIVE);
  const out: Served = {};
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (r: DiscoveryResponse) => {
        out[r.type_url] = {
          version: r.version_info,
          resources: r.resources.map((a) => Buffer.from(a.value).toString('base64')).sort(),
        };
        if (Object.keys(out).length === types.length) resolve();
      });
      for (const type_url of types)
        stream.write({
          version_info: '',
          node: { id: 'probe', cluster: 'test' },
          resource_names: [],
          type_url,
          response_nonce: '',
          error_detail: null,
        });
    });
  } finally {
    stream.close();
  }
  return out;
}
