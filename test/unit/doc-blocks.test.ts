import { commands, placeholders, shellBlocks, withStreamsBounded, words } from '../helpers/doc-blocks';
import { grpcurlProblems, nerveProtos } from '../helpers/grpcurl-check';

describe('the documents’ shell blocks, as the docs test reads them', () => {
  const doc = [
    'text',
    '```sh',
    'curl -s localhost:3000/x',
    '```',
    '<!-- docs-test: skip — needs a cluster -->',
    '',
    '```bash',
    'kubectl apply -k deploy',
    '```',
    '```yaml',
    'engines: []',
    '```',
  ].join('\n');

  it('finds sh and bash blocks with their line, and a skip with its reason; yaml is not a shell block', () => {
    expect(shellBlocks('x.md', doc)).toEqual([
      { file: 'x.md', line: 2, code: 'curl -s localhost:3000/x' },
      { file: 'x.md', line: 7, code: 'kubectl apply -k deploy', skip: 'needs a cluster' },
    ]);
  });

  it('refuses a skip that gives no reason', () => {
    expect(() => shellBlocks('x.md', '<!-- docs-test: skip -->\n```sh\nls\n```')).toThrow(/reason/);
  });

  it('takes <placeholders> but not redirections or heredocs', () => {
    expect(placeholders('curl $API/alerts/<alert-id>/ack < body.json; cat <<EOF')).toEqual(['<alert-id>']);
  });

  it('bounds only the commands documented as streaming until Ctrl-C', () => {
    const code = 'curl -s $API/health   # once\ncurl -sN "$API/events"   # the feed: streams until Ctrl-C';
    expect(withStreamsBounded(code, 3).split('\n')).toEqual([
      'curl -s $API/health   # once',
      '{ timeout -s INT 3 curl -sN "$API/events" || [ $? -eq 124 ]; }',
    ]);
  });

  it('splits commands across continuations and multi-line quotes, and shell words across quotes', () => {
    const code =
      '# a comment\ngrpcurl -d \'{"a":\n 1}\' \\\n  host:1 x.Y/Z\necho "two words"\'glued\' # note';
    expect(commands(code)).toEqual([
      'grpcurl -d \'{"a":\n 1}\'  host:1 x.Y/Z',
      'echo "two words"\'glued\' # note',
    ]);
    expect(words(commands(code)[1])).toEqual(['echo', 'two wordsglued']);
  });
});

describe('grpcurl commands checked against proto/ where grpcurl is not installed', () => {
  const root = nerveProtos();

  it('passes a method that exists with fields its request has (proto or JSON names)', () => {
    expect(
      grpcurlProblems(
        `grpcurl -plaintext -d '{"engine":"math","instance_id":"math-2","weight":300}' \\\n  localhost:18000 nerve.admin.v1.Admin/SetInstanceWeight\ngrpcurl -d '{"engine":"math","instanceId":"m"}' h:1 nerve.admin.v1.Admin/SetInstanceWeight`,
        root,
      ),
    ).toEqual([]);
  });

  it('names a method the protos lack, an unknown field, a body that is not JSON and bytes not in base64', () => {
    expect(
      grpcurlProblems(
        [
          `grpcurl -d '{}' h:1 nerve.admin.v1.Admin/NoSuchMethod`,
          `grpcurl -d '{"engine":"math","instance":"m"}' h:1 nerve.admin.v1.Admin/SetInstanceWeight`,
          `grpcurl -d '{engine: math}' h:1 nerve.admin.v1.Admin/GetHealth`,
          `grpcurl -d '{"operation":"echo","payload":"{not base64}"}' h:1 nerve.engine.v1.Engine/Invoke`,
        ].join('\n'),
        root,
      ),
    ).toEqual([
      'no method nerve.admin.v1.Admin/NoSuchMethod in proto/',
      'nerve.admin.v1.SetInstanceWeightRequest has no field instance',
      'nerve.admin.v1.Admin/GetHealth: -d is not JSON: {engine: math}',
      'payload is bytes: grpcurl wants base64',
    ]);
  });
});
