/** Request bodies: JSON only, and only valid UTF-8 (Node would otherwise turn bad bytes into U+FFFD silently). */
import fp from 'fastify-plugin';
import { ServeError } from '../errors.js';

export const jsonBody = fp(
  async (app) => {
    const parseJson = app.getDefaultJsonParser('error', 'error');
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
      let text: string;
      try {
        text = utf8.decode(body as Buffer);
      } catch {
        return done(
          new ServeError('SERVE_BODY_NOT_UTF8', 400, 'the request body is not valid UTF-8', 'Encode the JSON body as UTF-8'),
          undefined,
        );
      }
      void parseJson(req, text, done); // calls done itself (its return type is loose)
    });
  },
  { name: 'rnn-json-body' },
);
