/**
 * Readers and writers for daemon authors: buffered reading and writing,
 * copying and proxying between streams, an in-memory duplex pipe, codecs
 * that turn a byte stream into a stream of items, signals and stdio.
 *
 * @module
 */

export type { Reader } from "./reader.ts";
export type { Writer } from "./writer.ts";
export { MaxLengthError } from "./max_length_error.ts";
export { BufReader, type BufReaderOptions, Lines, type ReadLineOptions } from "./buf_reader.ts";
export { BufWriter, type BufWriterOptions } from "./buf_writer.ts";
export { duplex, DuplexStream } from "./duplex.ts";
export type { Codec, DecodeBuffer, Decoder, EncodeBuffer, Encoder } from "./codec/codec.ts";
export { Framed, type FramedOptions } from "./codec/framed.ts";
export { LinesCodec, type LinesCodecOptions } from "./codec/lines_codec.ts";
export {
  LengthDelimitedCodec,
  type LengthDelimitedOptions,
} from "./codec/length_delimited_codec.ts";
export { BytesCodec } from "./codec/bytes_codec.ts";
export { copy } from "./copy.ts";
export { copyBidirectional } from "./copy_bidirectional.ts";
export { signal, SignalStream } from "./signal.ts";
export { stderr, Stdin, stdin, stdout, StdWriter } from "./stdio.ts";
