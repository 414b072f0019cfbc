#!/usr/bin/env node
// Acts as a node's peer from Node.js, with nothing but the project's .proto files and a gRPC library:
// says Hello, files one FlightNotice, checks its logical acknowledgement, then watches the channel for the
// node's operational response. It shows that the wire protocol does not depend on the Python implementation.
//
//   node submit_notice.js --address 127.0.0.1:50051 --channel ru-mod:us-dod --party us-dod --recipient ru-mod
//
// Prints one JSON summary on stdout and exits 0; exits 1, with a sentence on stderr, when the node refuses
// something or answers with anything other than what the protocol promises; exits 2 on a usage error.
// docs/spec/ gives the rules cited in the comments (DCF-...).

'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const ENVELOPE_TYPE = 'deconflict.v1.Envelope';
const ACKNOWLEDGEMENT_TYPE = 'deconflict.v1.LogicalAcknowledgement';
// The protocol version this client speaks (DCF-ENV-007): major 1, minor 0.
const PROTOCOL_VERSION = { major: 1, minor: 0 };
// STANDBY keeps a dialogue open; every other kind closes it (DCF-RSP-004).
const FINAL_KINDS = new Set([
  'RESPONSE_KIND_ACCEPT',
  'RESPONSE_KIND_UNABLE',
  'RESPONSE_KIND_ROGER',
  'RESPONSE_KIND_COUNTER',
]);
// A box south-east of Latakia, written as an open ring (DCF-GEO-008): latitude,longitude pairs.
const DEFAULT_POLYGON = '35.40,35.90 35.40,36.20 35.60,36.20 35.60,35.90';

// Thrown for anything that must end the run with status 1: the message is the whole explanation.
class Failure extends Error {}

// -- command line ------------------------------------------------------------------------------------------

const USAGE = `usage: node submit_notice.js --address HOST:PORT --channel CHANNEL_ID --party PEER --recipient NODE_PARTY
                           [--agreement-hash HEX] [--agreement-version N] [--sequence N] [--notice-id ID]
                           [--polygon "LAT,LNG LAT,LNG LAT,LNG ..."] [--start-in MINUTES] [--duration MINUTES]
                           [--frequency ID]... [--exercise] [--first-response] [--timeout SECONDS]
                           [--key PEM_FILE --key-id ID] [--proto-root DIR]

  --address            the reference node's peer endpoint (plaintext gRPC, as \`deconflict serve\` runs today)
  --channel            the channel id of the agreement
  --party              the party this client acts as: the node's peer on that channel, the sender
  --recipient          the node's own party
  --agreement-hash     SHA-256 (hex) of the agreement bytes this side holds; default: the node's, from GetAgreement
  --agreement-version  the version of that agreement; default: the version in the node's agreement
  --sequence           this message's sequence number (default 1: the first message this party sends)
  --notice-id          default: PARTY/interop-<uuid>
  --polygon            the outline, default "${DEFAULT_POLYGON}"
  --start-in           minutes from now to the start of the flight; default: the agreement's minimum lead
                       time plus 60, so the notice is not late
  --duration           minutes of flight (default 60)
  --frequency          an agreed frequency id the aircraft listen on (repeatable; default none)
  --exercise           send in MODE_EXERCISE instead of MODE_OPERATIONAL
  --first-response     stop at the first operational response, STANDBY included (default: wait for a final one)
  --timeout            seconds to wait for the node, from start to the response (default 30)
  --key                this party's Ed25519 private key (PKCS#8 PEM): the envelope is signed with it
  --key-id             the key's key_id in the agreement (with --key; without both, the envelope goes unsigned)
  --proto-root         the folder holding deconflict/v1/*.proto (default: ../../proto from this file)`;

function parseCommandLine(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      address: { type: 'string' },
      channel: { type: 'string' },
      party: { type: 'string' },
      recipient: { type: 'string' },
      'agreement-hash': { type: 'string' },
      'agreement-version': { type: 'string' },
      sequence: { type: 'string', default: '1' },
      'notice-id': { type: 'string' },
      polygon: { type: 'string', default: DEFAULT_POLYGON },
      'start-in': { type: 'string' },
      duration: { type: 'string', default: '60' },
      frequency: { type: 'string', multiple: true, default: [] },
      exercise: { type: 'boolean', default: false },
      'first-response': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '30' },
      key: { type: 'string' },
      'key-id': { type: 'string' },
      'proto-root': { type: 'string', default: path.resolve(__dirname, '..', '..', 'proto') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  for (const name of ['address', 'channel', 'party', 'recipient']) {
    if (!values[name]) throw new UsageError(`--${name} is required`);
  }
  if ((values.key === undefined) !== (values['key-id'] === undefined)) {
    throw new UsageError('--key and --key-id go together');
  }
  const hash = values['agreement-hash'];
  if (hash !== undefined && !/^[0-9a-fA-F]{64}$/.test(hash)) {
    throw new UsageError('--agreement-hash takes 64 hexadecimal digits (a SHA-256)');
  }
  return {
    address: values.address,
    channelId: values.channel,
    party: values.party,
    recipient: values.recipient,
    agreementHash: hash === undefined ? null : Buffer.from(hash, 'hex'),
    agreementVersion: values['agreement-version'] === undefined ? null : count(values, 'agreement-version', 1),
    sequence: count(values, 'sequence', 1),
    noticeId: values['notice-id'] || `${values.party}/interop-${crypto.randomUUID()}`,
    polygon: parsePolygon(values.polygon),
    startInMinutes: values['start-in'] === undefined ? null : number(values, 'start-in'),
    durationMinutes: number(values, 'duration'),
    frequencies: values.frequency,
    mode: values.exercise ? 'MODE_EXERCISE' : 'MODE_OPERATIONAL',
    firstResponse: values['first-response'],
    timeoutSeconds: number(values, 'timeout'),
    signingKey: values.key === undefined ? null : crypto.createPrivateKey(fs.readFileSync(values.key)),
    keyId: values['key-id'] || null,
    protoRoot: values['proto-root'],
  };
}

class UsageError extends Error {}

function number(values, name) {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} takes a positive number`);
  return value;
}

function count(values, name, minimum) {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new UsageError(`--${name} takes a whole number of at least ${minimum}`);
  }
  return value;
}

function parsePolygon(text) {
  const vertices = text
    .trim()
    .split(/\s+/)
    .map((pair) => {
      const [latitude, longitude, extra] = pair.split(',').map(Number);
      if (extra !== undefined || !Number.isFinite(latitude) || !Number.isFinite(longitude)) {
        throw new UsageError(`--polygon: "${pair}" is not LATITUDE,LONGITUDE`);
      }
      return { latitude, longitude };
    });
  // The node judges the shape itself (DCF-GEO-005 to DCF-GEO-010); this only catches an obvious typing slip.
  if (vertices.length < 3) throw new UsageError('--polygon needs at least 3 vertices');
  return vertices;
}

// -- the schema -----------------------------------------------------------------------------------------------

// Field names as written in the .proto files; 64-bit integers as decimal strings (JavaScript numbers lose
// precision past 2^53; the summary turns the small ones back into numbers); enums by name; unset scalars as
// their defaults; each oneof's chosen field named in a virtual property (envelope.body === 'notice').
// The same conversions apply both ways.
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

function loadSchema(protoRoot) {
  // The two service files import every other schema of the package; google/protobuf/* come with the loader.
  const files = ['deconflict/v1/channel_service.proto', 'deconflict/v1/notice_service.proto'];
  const definition = protoLoader.loadSync(files, { ...LOADER_OPTIONS, includeDirs: [protoRoot] });
  const v1 = grpc.loadPackageDefinition(definition).deconflict.v1;
  // Envelopes and acknowledgements travel as bytes inside SignedPayload, so they need codecs of their own;
  // the loader's message definitions carry exactly those (serialize / deserialize).
  const codec = (name) => definition[`deconflict.v1.${name}`];
  return {
    ChannelService: v1.ChannelService,
    NoticeService: v1.NoticeService,
    Envelope: codec('Envelope'),
    LogicalAcknowledgement: codec('LogicalAcknowledgement'),
    Agreement: codec('Agreement'),
    SequenceGap: codec('SequenceGap'),
  };
}

// The refusal details a node puts in the grpc-status-details-bin trailer (docs/spec/09-errors.md) are
// google.rpc.Status, BadRequest and ErrorInfo, which are not among the project's schemas. Only the fields
// read here are declared, under the field numbers of google/rpc/status.proto and error_details.proto; the
// rest of each message is skipped as unknown fields.
const STATUS_DETAILS = protoLoader.fromJSON(
  {
    nested: {
      rpc: {
        nested: {
          Status: {
            fields: {
              code: { type: 'int32', id: 1 },
              message: { type: 'string', id: 2 },
              details: { rule: 'repeated', type: 'Packed', id: 3 },
            },
          },
          // google.protobuf.Any, declared under another name so that no Any-specific conversion applies.
          Packed: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
          ErrorInfo: { fields: { reason: { type: 'string', id: 1 } } },
          BadRequest: { fields: { field_violations: { rule: 'repeated', type: 'FieldViolation', id: 1 } } },
          FieldViolation: { fields: { field: { type: 'string', id: 1 }, description: { type: 'string', id: 2 } } },
        },
      },
    },
  },
  LOADER_OPTIONS,
);

// -- conversions ----------------------------------------------------------------------------------------------

function timestamp(milliseconds) {
  const whole = Math.floor(milliseconds / 1000);
  return { seconds: String(whole), nanos: Math.round((milliseconds - whole * 1000) * 1e6) };
}

function isoTime(stamp) {
  if (!stamp) return null;
  return new Date(Number(stamp.seconds) * 1000 + Math.floor(stamp.nanos / 1e6)).toISOString();
}

function durationMilliseconds(duration) {
  return duration ? Number(duration.seconds) * 1000 + duration.nanos / 1e6 : 0;
}

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest();
}

// -- calls ------------------------------------------------------------------------------------------------------

// A unary call as a promise, under the run's single deadline.
function unary(client, method, request, deadline) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

// A refusal in the protocol's words: the status code, the node's sentence, and the reason, the field paths
// and the sequence numbers it attached, so that whoever wrote a wrong envelope sees which field is at fault.
function describeRefusal(what, error, schema) {
  if (error.code === undefined) return `${what}: ${error.message}`;
  const parts = [`${what} refused: ${grpc.status[error.code] ?? error.code}: ${error.details}`];
  const [trailer] = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
  if (trailer) {
    const status = STATUS_DETAILS['rpc.Status'].deserialize(trailer);
    for (const detail of status.details) {
      const kind = detail.type_url.slice(detail.type_url.lastIndexOf('/') + 1);
      if (kind === 'google.rpc.ErrorInfo') {
        parts.push(`reason ${STATUS_DETAILS['rpc.ErrorInfo'].deserialize(detail.value).reason}`);
      } else if (kind === 'google.rpc.BadRequest') {
        for (const violation of STATUS_DETAILS['rpc.BadRequest'].deserialize(detail.value).field_violations) {
          parts.push(`field ${violation.field}: ${violation.description}`);
        }
      } else if (kind === 'deconflict.v1.SequenceGap') {
        const gap = schema.SequenceGap.deserialize(detail.value);
        parts.push(`the node expects sequence ${gap.expected}, not ${gap.received} (see --sequence)`);
      }
    }
  }
  return parts.join('; ');
}

async function call(what, schema, promise) {
  try {
    return await promise;
  } catch (error) {
    throw new Failure(describeRefusal(what, error, schema));
  }
}

// -- the exchange -----------------------------------------------------------------------------------------------

// The agreement as the node holds it: needed for the minimum lead time whatever this side passes in, and,
// when no hash is passed, as the one this side takes for its own (fine for a trial; a real peer holds the
// agreed bytes itself, DCF-CHN-001). GetAgreement is served before Hello (DCF-CHN-002).
async function fetchAgreement(options, schema, channelService, deadline) {
  const answer = await call(
    'GetAgreement',
    schema,
    unary(channelService, 'GetAgreement', { channel_id: options.channelId }, deadline),
  );
  if (!sha256(answer.agreement).equals(answer.agreement_hash)) {
    throw new Failure('GetAgreement: the agreement hash is not the SHA-256 of the agreement bytes (DCF-CHN-002)');
  }
  return { hash: answer.agreement_hash, model: schema.Agreement.deserialize(answer.agreement) };
}

// Hello first: the node refuses every write of a peer that has not greeted it (DCF-ENV-022, DCF-HEL-001).
async function sayHello(options, schema, channelService, agreement, deadline) {
  const hash = options.agreementHash ?? agreement.hash;
  const version = options.agreementVersion ?? agreement.model.version;
  const answer = await call(
    'Hello',
    schema,
    unary(
      channelService,
      'Hello',
      {
        hello: {
          channel_id: options.channelId,
          party: options.party,
          supported_versions: { min_major: PROTOCOL_VERSION.major, max_major: PROTOCOL_VERSION.major },
          agreement_hash: hash,
          agreement_version: version,
          sent_time: timestamp(Date.now()),
          implementation: `deconflict interop client (Node.js ${process.version})`,
        },
      },
      deadline,
    ),
  );
  // The caller checks the answer as the node checked the Hello (DCF-HEL-010).
  const theirs = answer.hello;
  if (!theirs || !Buffer.from(theirs.agreement_hash).equals(hash)) {
    throw new Failure("Hello: the node's answer names another agreement hash; sending nothing (DCF-HEL-010)");
  }
  if (answer.selected_major !== PROTOCOL_VERSION.major || theirs.party !== options.recipient) {
    throw new Failure(
      `Hello: expected ${options.recipient} on major version ${PROTOCOL_VERSION.major}, ` +
        `the node answered as ${theirs.party} on major version ${answer.selected_major}`,
    );
  }
  return {
    selected_major: answer.selected_major,
    node_implementation: theirs.implementation,
    agreement_version: version,
  };
}

function buildNotice(options, agreement) {
  const leadMinutes = durationMilliseconds(agreement.model.minimum_lead_time) / 60_000;
  // Beyond the agreed lead time, so that the node does not mark the notice late (DCF-NTC-015).
  const startIn = options.startInMinutes ?? leadMinutes + 60;
  const start = Date.now() + startIn * 60_000;
  const flightLevel = (value) => ({
    value,
    reference: 'ALTITUDE_REFERENCE_STD',
    unit: 'ALTITUDE_UNIT_FLIGHT_LEVEL',
  });
  return {
    notice_id: options.noticeId,
    version: 1, // SubmitNotice files version 1, ACTIVE (DCF-NTC-010)
    state: 'NOTICE_STATE_ACTIVE',
    owner: options.party, // the owner is the sender (DCF-NTC-011)
    volumes: [
      {
        volume: {
          polygon: { vertices: options.polygon },
          altitude_lower: flightLevel(100),
          altitude_upper: flightLevel(200),
        },
        time_start: timestamp(start),
        time_end: timestamp(start + options.durationMinutes * 60_000),
      },
    ],
    aircraft_category: 'AIRCRAFT_CATEGORY_FIXED_WING',
    aircraft_count: 2,
    frequency_ids: options.frequencies,
    category: 'NOTICE_CATEGORY_ROUTINE',
    remarks: 'filed by the Node.js interoperability client',
  };
}

// The envelope is serialized here, once, and these exact bytes are what the acknowledgement's
// payload_sha256 must name (DCF-ACK-004); they go inside a SignedPayload, never bare (DCF-ENV-001).
function sealNotice(options, schema, notice) {
  const envelope = {
    message_id: crypto.randomUUID(), // DCF-ENV-004 recommends a UUID
    channel_id: options.channelId,
    sender: options.party,
    recipient: options.recipient,
    sequence: String(options.sequence),
    in_reply_to: '',
    created_time: timestamp(Date.now()), // within the agreement's clock-skew tolerance (DCF-ENV-025)
    protocol_version: PROTOCOL_VERSION,
    mode: options.mode,
    notice,
  };
  const payload = schema.Envelope.serialize(envelope);
  // Signed over these exact bytes (DCF-SEC-009) by the sender's key in the agreement (DCF-SEC-006).
  const signatures = options.signingKey
    ? [{ key_id: options.keyId, signature: crypto.sign(null, pae(ENVELOPE_TYPE, payload), options.signingKey) }]
    : [];
  return { envelope, signed: { payload_type: ENVELOPE_TYPE, payload, signatures } };
}

// What a signature covers (DCF-SEC-007): "DSSEv1", the length of the type in bytes and the type, the length of
// the payload and the payload, separated by spaces, the lengths in ASCII decimal.
function pae(type, payload) {
  const kind = Buffer.from(type, 'utf8');
  const body = Buffer.from(payload);
  return Buffer.concat([Buffer.from(`DSSEv1 ${kind.length} `), kind, Buffer.from(` ${body.length} `), body]);
}

// The first level: stored durably, at a journal position; says nothing about the flight (DCF-ACK-001).
function checkAcknowledgement(options, schema, sent, answer) {
  const signed = answer.acknowledgement;
  if (!signed || signed.payload_type !== ACKNOWLEDGEMENT_TYPE) {
    throw new Failure(`SubmitNotice: expected a SignedPayload of type ${ACKNOWLEDGEMENT_TYPE} (DCF-ACK-002)`);
  }
  const ack = schema.LogicalAcknowledgement.deserialize(signed.payload);
  // What a sender checks before it counts a message as received (DCF-ENV-034, DCF-ACK-003, DCF-ACK-004).
  const expected = {
    channel_id: options.channelId,
    acknowledging_party: options.recipient,
    message_id: sent.envelope.message_id,
    message_sender: options.party,
    message_sequence: String(options.sequence),
    notice_id: options.noticeId,
    notice_version: 1,
  };
  for (const [field, value] of Object.entries(expected)) {
    if (ack[field] !== value) {
      const [said, meant] = [ack[field], value].map((v) => JSON.stringify(v));
      throw new Failure(`the acknowledgement says ${field} ${said}, not ${meant} (DCF-ENV-034)`);
    }
  }
  if (!Buffer.from(ack.payload_sha256).equals(sha256(sent.signed.payload))) {
    throw new Failure('the acknowledgement names another payload_sha256 than that of the bytes sent (DCF-ACK-004)');
  }
  return {
    message_id: ack.message_id,
    acknowledging_party: ack.acknowledging_party,
    message_sequence: Number(ack.message_sequence),
    journal_position: Number(ack.journal_position),
    stored_time: isoTime(ack.stored_time),
    notice_id: ack.notice_id,
    notice_version: ack.notice_version,
    late: ack.late,
    response_due_time: isoTime(ack.response_due_time),
    payload_sha256: Buffer.from(ack.payload_sha256).toString('hex'),
    // The signed bytes themselves: the sender keeps them as its proof of receipt (DCF-ACK-012).
    payload_base64: Buffer.from(signed.payload).toString('base64'),
  };
}

// The second level arrives as a message of its own, sent by the node (DCF-ACK-011). The node delivers what it
// sends either by calling the peer's RPCs (when configured with a peer address) or, to a peer that serves no
// RPC, through Watch: every envelope it sent to the caller on the channel, from a sequence number on, then
// the new ones as they are sent (DCF-STR-002). Watching from 1 also shows anything the node sent earlier.
function awaitResponse(options, schema, channelService, sent, deadline) {
  return new Promise((resolve, reject) => {
    const stream = channelService.Watch({ channel_id: options.channelId, from_sequence: '1' }, { deadline });
    const responses = [];
    let expectedSequence = 1n;
    let settled = false;
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      stream.cancel();
      if (error) reject(error);
      else resolve(value);
    };

    stream.on('data', (item) => {
      try {
        const seen = readWatched(options, schema, item.envelope, expectedSequence);
        expectedSequence += 1n;
        // Other messages of the node (its own notices, answers to earlier notices) pass by.
        if (seen.body !== 'response' || seen.in_reply_to !== sent.envelope.message_id) return;
        responses.push(checkResponse(options, sent, seen));
        const last = responses[responses.length - 1];
        if (FINAL_KINDS.has(last.kind) || options.firstResponse) finish(null, responses);
      } catch (error) {
        finish(error);
      }
    });
    stream.on('error', (error) => {
      if (settled) return; // the cancellation that ends a successful watch
      if (error.code === grpc.status.DEADLINE_EXCEEDED) {
        const got = responses.map((r) => r.kind).join(', ') || 'nothing';
        finish(new Failure(`no final operational response to ${sent.envelope.message_id} in time (got ${got})`));
      } else {
        finish(new Failure(describeRefusal('Watch', error, schema)));
      }
    });
    stream.on('end', () => finish(new Failure('the node ended Watch before its operational response came')));
  });
}

// One watched envelope, checked as a receiver checks a header (DCF-ENV-006, DCF-STR-002: in order, no gap).
function readWatched(options, schema, signed, expectedSequence) {
  if (!signed || signed.payload_type !== ENVELOPE_TYPE) {
    throw new Failure(`Watch streamed something other than a SignedPayload of type ${ENVELOPE_TYPE}`);
  }
  const envelope = schema.Envelope.deserialize(signed.payload);
  if (envelope.channel_id !== options.channelId || envelope.sender !== options.recipient) {
    throw new Failure(`Watch streamed ${envelope.message_id} from ${envelope.sender} on ${envelope.channel_id}`);
  }
  if (envelope.recipient !== options.party) {
    throw new Failure(`Watch streamed ${envelope.message_id}, addressed to ${envelope.recipient}, not to this party`);
  }
  if (BigInt(envelope.sequence) !== expectedSequence) {
    throw new Failure(`Watch streamed sequence ${envelope.sequence} where ${expectedSequence} was due (DCF-STR-002)`);
  }
  return envelope;
}

// The response must answer the version we filed, in our mode (DCF-RSP-002, DCF-ENV-009, DCF-ENV-011).
function checkResponse(options, sent, envelope) {
  const response = envelope.response;
  if (response.notice_id !== options.noticeId || response.notice_version !== 1) {
    throw new Failure(
      `the response ${envelope.message_id} answers ${response.notice_id} version ${response.notice_version}, ` +
        `not ${options.noticeId} version 1`,
    );
  }
  if (envelope.mode !== sent.envelope.mode) {
    throw new Failure(
      `the response ${envelope.message_id} is in ${envelope.mode}, the notice in ${sent.envelope.mode} (DCF-ENV-009)`,
    );
  }
  return {
    message_id: envelope.message_id,
    sequence: Number(envelope.sequence),
    in_reply_to: envelope.in_reply_to,
    created_time: isoTime(envelope.created_time),
    kind: response.kind,
    reasons: response.reasons,
    offending_field: response.offending_field,
    conflicts: response.conflicts.map((conflict) => ({
      notice_id: conflict.notice_id,
      owner: conflict.owner,
      version: conflict.version,
      volume_index: conflict.volume_index,
    })),
    remarks: response.remarks,
  };
}

async function main() {
  const options = parseCommandLine(process.argv.slice(2));
  const schema = loadSchema(options.protoRoot);
  // One deadline for the whole run, so that an unresponsive node cannot hold it longer than --timeout.
  const deadline = new Date(Date.now() + options.timeoutSeconds * 1000);
  const credentials = grpc.credentials.createInsecure();
  const channelService = new schema.ChannelService(options.address, credentials);
  // Both services on one connection to the node.
  const noticeService = new schema.NoticeService(options.address, credentials, {
    channelOverride: channelService.getChannel(),
  });
  try {
    const agreement = await fetchAgreement(options, schema, channelService, deadline);
    const hello = await sayHello(options, schema, channelService, agreement, deadline);
    const sent = sealNotice(options, schema, buildNotice(options, agreement));
    const answer = await call(
      'SubmitNotice',
      schema,
      unary(noticeService, 'SubmitNotice', { envelope: sent.signed }, deadline),
    );
    const acknowledgement = checkAcknowledgement(options, schema, sent, answer);
    const responses = await awaitResponse(options, schema, channelService, sent, deadline);
    const final = responses[responses.length - 1];
    const summary = {
      channel_id: options.channelId,
      party: options.party,
      node_party: options.recipient,
      hello,
      message_id: sent.envelope.message_id,
      sequence: options.sequence,
      notice_id: options.noticeId,
      mode: options.mode,
      payload_sha256: sha256(sent.signed.payload).toString('hex'),
      acknowledgement,
      responses,
      response_kind: final.kind,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    channelService.close(); // closes the shared connection
  }
}

main().catch((error) => {
  if (error instanceof UsageError || String(error.code).startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`submit_notice: ${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`submit_notice: ${error instanceof Failure ? error.message : error.stack}\n`);
  process.exit(1);
});
