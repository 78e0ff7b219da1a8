import type { Socket } from 'node:net';
import type { Shaper } from '../c2s/shaper.js';

/**
 * The writing side of a stream connection (c2s and service alike). With TCP_NODELAY on, each write
 * would be a packet: the writes of one turn of the event loop (a burst of routed stanzas) are gathered
 * into one, sent once the current work is done. What waits for a peer that does not read is bounded
 * (ejabberd's max_fsm_queue): past it, `overflow` ends the stream.
 */
export class StreamWriter {
  private corked = false;
  /** Writes made while the socket's buffer was full, since it last drained. */
  private backlog = 0;

  constructor(
    private readonly maxQueue: number,
    private readonly overflow: () => void,
  ) {}

  write(socket: Socket, data: string): void {
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    if (socket.write(data)) return;
    this.backlog++;
    if (this.backlog > this.maxQueue) {
      this.backlog = 0;
      this.overflow();
    }
  }

  /** The socket's `drain`: the peer caught up. */
  drained(): void {
    this.backlog = 0;
  }
}

/**
 * The reading side's shaper (ejabberd's `shaper`): after `bytes` arrived, reading pauses for as long
 * as the token bucket needs to refill, so one flooding peer cannot starve the others.
 */
export function shapeRead(
  socket: Socket,
  shaper: Shaper | undefined,
  bytes: number,
  open: () => boolean,
): void {
  if (shaper === undefined) return;
  const pause = shaper.update(bytes);
  if (pause > 0 && !socket.isPaused()) {
    socket.pause();
    setTimeout(() => {
      if (open()) socket.resume();
    }, pause).unref();
  }
}
