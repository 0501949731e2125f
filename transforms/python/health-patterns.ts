// Names and shapes of ad-hoc health code, shared by the health transform and the scanner.

/** Methods that run a health server, socket or loop. */
export const HEALTH_LOOP_METHOD =
  /^_?(start|run|init|setup|serve|launch|create)_((http|zmq|rep|tcp)_)?health(_check)?(_server|_socket|_thread|_loop|_listener|_endpoint|_responder|_monitor)?$|^_?health(_check)?_(loop|thread|server|listener|worker|responder|handler|socket_loop)$|^_?handle_health(_check)?(_requests?)?$|^_?(heartbeat|hb)(_loop|_thread|_server|_responder)?$/;

/** Methods that build a health payload. */
export const HEALTH_PAYLOAD_METHOD = /^_?(get_)?health(_check)?(_status|_info|_response|_payload|_report)?$/;

/** Attributes holding health sockets, threads and servers. */
export const HEALTH_ATTRIBUTE =
  /^_?health(_check)?_(socket|sock|thread|server|srv|port|poller|httpd|running|stop_event|handler|thread_running)$|^_?(hb|heartbeat)(_thread|_socket|_sock)?$/;

/** Module-level sidecar classes that run a whole health server for the agent. */
export const HEALTH_SIDECAR_CLASS = /Health(Check)?(Server|Sidecar|Checker|Thread|Service|Endpoint|Reporter|Responder|Listener)$/;

/** HTTP handler base classes. */
export const HTTP_HANDLER_BASE = /^(BaseHTTPRequestHandler|SimpleHTTPRequestHandler|WSGIRequestHandler|StreamRequestHandler|BaseRequestHandler)$/;

/** Keys a pure health payload carries (anything else is business data). */
export const HEALTH_PAYLOAD_KEYS = new Set([
  'status', 'agent', 'agent_name', 'name', 'service', 'timestamp', 'time', 'uptime', 'uptime_seconds', 'uptime_sec',
  'initialized', 'initialization_error', 'init_error', 'port', 'health_port', 'health_check_port', 'pid', 'version',
  'ready', 'healthy', 'alive', 'error', 'message',
]);
