import { connect } from 'node:net';

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

/** Sends raw bytes, collects the answer until `complete` says so (or the timeout). */
export function tcpExchange(
  host: string,
  port: number,
  request: string,
  complete: (answer: string) => boolean,
  timeoutMs = 1500,
): Promise<string> {
  return new Promise((resolveAnswer, rejectAnswer) => {
    let answer = '';
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      rejectAnswer(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(request));
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
