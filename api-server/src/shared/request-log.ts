/**
 * One log line and one duration observation per HTTP request, when its response has finished or when its
 * connection closed first. Only 'finish' was listened for: a download or upload the client cut, or a slow
 * call it gave up on, left neither a log line nor a metric (red team, aborted.sh), so an outage that made
 * clients time out looked like silence. Such a request is logged with `aborted: true` and status 499 (nginx's
 * "client closed request"), the status its duration is observed under too. Each line names the client's
 * address and, for an authenticated call, its user_id: who sent what, which a password-guessing client or an
 * abusive user is looked for by.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { AuthContext } from '../modules/auth/auth.types';
import { httpMethodLabel, type Metrics } from './metrics';

/** The status of a request whose client went away before its response finished. */
export const CLIENT_CLOSED_REQUEST = 499;

export interface RequestLogDeps {
  logger: Logger;
  httpDuration: Metrics['httpDuration'];
  /** The request's route label: its declared path, or `unmatched` (never a path the client made up). */
  routeOf(req: Request): string;
}

export function createRequestLog({ logger, httpDuration, routeOf }: RequestLogDeps): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // The address the login throttle counts the client under (req.ip: X-Forwarded-For only from the
    // proxies OPENPDS_TRUST_PROXY names), read now: once the connection has closed the socket has none.
    const clientIp = req.ip;
    let logged = false;
    // 'finish' comes first for a response sent in full, and 'close' after it; 'close' alone means the
    // connection ended first. Whichever comes first is the one line.
    const done = () => {
      if (logged) return;
      logged = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const aborted = !res.writableFinished;
      const status = aborted ? CLIENT_CLOSED_REQUEST : res.statusCode;
      const route = routeOf(req);
      const method = httpMethodLabel(req.method);
      httpDuration.observe({ route, method, status: String(status) }, seconds);
      const unmatched = route === 'unmatched' ? { path: (req.baseUrl + req.path).slice(0, 200) } : {};
      const userId = (res.locals.auth as AuthContext | undefined)?.userId;
      logger.info(
        { req_id: requestIdOf(res), method, route, ...unmatched, status, ...(aborted ? { aborted } : {}), ms: Math.round(seconds * 1000), client_ip: clientIp, ...(userId ? { user_id: userId } : {}) },
        'request',
      );
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}

const requestIdOf = (res: Response): string | undefined => res.locals.requestId as string | undefined;
