import { connect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/** Whether anything accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolvePort(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Sends raw bytes, collects the answer until `complete` says so (or the timeout). Over TLS when `tls` is given. */
export function tcpExchange(
  host: string,
  port: number,
  request: string,
  complete: (answer: string) => boolean,
  timeoutMs = 1500,
  tls?: ConnectionOptions,
): Promise<string> {
  return new Promise((resolveAnswer, rejectAnswer) => {
    let answer = '';
    const socket = tls === undefined ? connect({ host, port }) : tlsConnect({ host, port, ...tls });
    const timer = setTimeout(() => {
      socket.destroy();
      rejectAnswer(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (complete(answer)) {
        clearTimeout(timer);
        socket.destroy();
        resolveAnswer(answer);
      }
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      rejectAnswer(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (!complete(answer)) rejectAnswer(new Error(`${host}:${port} closed the connection`));
    });
  });
}
