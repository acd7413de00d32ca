//! The serial index of a CRL: one 16-byte slot per revokedCertificates entry (RFC 5280
//! section 5.1.2.6), sorted by normalised serial number and searched by binary search.
//!
//! Serial numbers are DER INTEGERs, big-endian two's complement (RFC 5280 section 4.1.2.2).
//! They are normalised to their minimal encoding: redundant leading 0x00 octets (before a
//! byte whose top bit is clear) and 0xFF octets (before a byte whose top bit is set) are
//! dropped, so `00 00 c0 ff ee` and `00 c0 ff ee` name the same serial and a negative serial
//! stays distinct from its magnitude. The serial bytes themselves are not copied: a slot
//! keeps their offset in the CRL's DER.
//!
//! The slots are kept in two sorted parts, every serial of the first below every serial of
//! the second (split at the median of the first entries read), so a large index is sorted on
//! two threads in place: no merge, no second buffer.

use std::cmp::Ordering;

use crate::limits::MAX_CRL_SERIAL_BYTES;

/// How many leading serial octets a slot's `head` holds.
const HEAD_BYTES: usize = 7;

/// Reason code stored for an entry without a reasonCode extension.
pub(super) const NO_REASON: u8 = 0x0f;
/// Bits of [`Slot::offset_reason`] that hold the reason code.
const REASON_BITS: u32 = 4;
const REASON_MASK: u32 = (1 << REASON_BITS) - 1;
/// The largest DER offset a slot can hold.
pub(super) const MAX_OFFSET: usize = (u32::MAX >> REASON_BITS) as usize;

/// Strips the redundant sign octets of a two's complement big-endian integer.
pub(crate) fn normalise_serial(mut serial: &[u8]) -> &[u8] {
    while let [first, second, ..] = serial {
        let redundant =
            (*first == 0x00 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        serial = &serial[1..];
    }
    serial
}

/// The sort key prefix of a normalised serial: its length in the top octet, then its first
/// seven octets. Serials are ordered by length, then octet by octet; the order only has to be
/// total and consistent between building and searching.
fn head_of(serial: &[u8]) -> u64 {
    let mut head = [0u8; 8];
    // Lengths are capped at MAX_CRL_SERIAL_BYTES (< 256) before a slot is made.
    head[0] = u8::try_from(serial.len()).unwrap_or(u8::MAX);
    match serial.first_chunk::<HEAD_BYTES>() {
        // The usual case, as a fixed-size copy.
        Some(first) => head[1..].copy_from_slice(first),
        None => head[1..=serial.len()].copy_from_slice(serial),
    }
    u64::from_be_bytes(head)
}

/// One revoked certificate, in 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Length and first octets of the normalised serial, see [`head_of`].
    head: u64,
    /// Offset of the normalised serial in the DER (top 28 bits: CRLs are at most 256 MiB)
    /// and CRLReason code (low 4 bits: RFC 5280 section 5.3.1 codes are 0 to 10, or
    /// [`NO_REASON`]).
    offset_reason: u32,
    /// revocationDate, seconds since the Unix epoch (until 2106; later dates are refused).
    revoked_at: u32,
}

impl Slot {
    fn len(&self) -> usize {
        (self.head >> 56) as usize
    }

    fn offset(&self) -> usize {
        (self.offset_reason >> REASON_BITS) as usize
    }

    fn reason(&self) -> u8 {
        (self.offset_reason & REASON_MASK) as u8
    }

    /// The serial octets after the head, read from the DER.
    fn tail<'d>(&self, der: &'d [u8]) -> &'d [u8] {
        let (start, len) = (self.offset(), self.len());
        match der.get(start..start + len) {
            Some(serial) if len > HEAD_BYTES => &serial[HEAD_BYTES..],
            _ => &[],
        }
    }

    fn cmp_in(&self, other: &Slot, der: &[u8]) -> Ordering {
        self.head
            .cmp(&other.head)
            .then_with(|| self.tail(der).cmp(other.tail(der)))
    }
}

/// What a lookup finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    /// Offset and length of the normalised serial in the DER.
    pub(super) offset: usize,
    pub(super) len: usize,
    pub(super) revoked_at: i64,
    pub(super) reason: u8,
}

/// Sorts slots by serial: by head alone (a plain integer sort), then each run of equal
/// heads of serials longer than the head by the rest of the serial. Such runs are rare: for
/// random serials, seven octets almost never repeat.
fn sort_slots(slots: &mut [Slot], der: &[u8]) {
    slots.sort_unstable_by_key(|slot| slot.head);
    let mut start = 0;
    while start < slots.len() {
        let head = slots[start].head;
        let end = start + slots[start..].iter().take_while(|s| s.head == head).count();
        if end - start > 1 && slots[start].len() > HEAD_BYTES {
            slots[start..end].sort_unstable_by(|a, b| a.cmp_in(b, der));
        }
        start = end;
    }
}

/// How many entries are read before the split point is chosen (their median).
const SAMPLE_ENTRIES: usize = 4096;

/// Builds a [`SerialIndex`] entry by entry, then sorts it once.
pub(super) struct IndexBuilder {
    /// Entries below the split point, and from it on (all in `parts[0]` until it is chosen).
    parts: [Vec<Slot>; 2],
    split: Option<Slot>,
    /// Whether to split at all (only worth it when the parts are sorted on two threads).
    splits: bool,
}

impl IndexBuilder {
    /// A builder with room for about `capacity` entries; `two_parts` prepares for
    /// [`IndexBuilder::finish_on_two_threads`].
    pub(super) fn new(capacity: usize, two_parts: bool) -> Self {
        // Random serials split evenly; a skewed part grows past this as needed.
        let part = if two_parts {
            capacity / 2 + capacity / 8
        } else {
            capacity
        };
        Self {
            parts: [
                Vec::with_capacity(part),
                Vec::with_capacity(if two_parts { part } else { 0 }),
            ],
            split: None,
            splits: two_parts,
        }
    }

    /// How many entries were added.
    pub(super) fn len(&self) -> usize {
        self.parts[0].len() + self.parts[1].len()
    }

    /// Adds the entry whose serial INTEGER content octets are `der[offset..offset + len]`.
    /// Fails (with the reason) on an empty or over-long serial.
    pub(super) fn push(
        &mut self,
        der: &[u8],
        offset: usize,
        len: usize,
        revoked_at: i64,
        reason: u8,
    ) -> Result<(), String> {
        let raw = der
            .get(offset..offset + len)
            .ok_or_else(|| "a serial number lies outside the CRL".to_owned())?;
        if raw.is_empty() {
            return Err("a revoked certificate has an empty serial number".to_owned());
        }
        let serial = normalise_serial(raw);
        if serial.len() > MAX_CRL_SERIAL_BYTES {
            return Err(format!(
                "a revoked certificate's serial number is {} octets long; at most \
                 {MAX_CRL_SERIAL_BYTES} are accepted",
                serial.len()
            ));
        }
        let offset = offset + (raw.len() - serial.len());
        if offset > MAX_OFFSET {
            return Err("the CRL is too large to index (offsets beyond 256 MiB)".to_owned());
        }
        let revoked_at = u32::try_from(revoked_at).map_err(|_| {
            "a revocation date lies after 2106 (or before 1970), which is not supported".to_owned()
        })?;
        // Offsets fit in 28 bits (checked above) and reason codes in 4 (webpki's are 0-10).
        let offset_reason = ((offset as u32) << REASON_BITS) | (u32::from(reason) & REASON_MASK);
        let slot = Slot {
            head: head_of(serial),
            offset_reason,
            revoked_at,
        };
        match &self.split {
            Some(split) => {
                let part = usize::from(slot.cmp_in(split, der) != Ordering::Less);
                self.parts[part].push(slot);
            }
            None => {
                self.parts[0].push(slot);
                if self.splits && self.parts[0].len() == SAMPLE_ENTRIES {
                    self.choose_split(der);
                }
            }
        }
        Ok(())
    }

    /// Splits the entries read so far at their median: from it on they go to `parts[1]`.
    fn choose_split(&mut self, der: &[u8]) {
        let [low, high] = &mut self.parts;
        let middle = low.len() / 2;
        low.select_nth_unstable_by(middle, |a, b| a.cmp_in(b, der));
        self.split = Some(low[middle]);
        high.extend(low.drain(middle..));
    }

    /// Sorts the parts (CRLs are often already in serial order, which is checked first) and
    /// trims the spare capacity.
    pub(super) fn finish(mut self, der: &[u8]) -> SerialIndex {
        for part in &mut self.parts {
            sort_part(part, der);
        }
        SerialIndex::from_parts(self.parts)
    }

    /// Like [`IndexBuilder::finish`], sorting the second part on another thread.
    /// When no thread can be started, sorts both parts here.
    pub(super) fn finish_on_two_threads(mut self, der: &[u8]) -> Result<SerialIndex, String> {
        let [low, high] = &mut self.parts;
        let sorted_high = std::thread::scope(|scope| {
            let other = std::thread::Builder::new().spawn_scoped(scope, || sort_part(high, der));
            sort_part(low, der);
            match other {
                Ok(other) => other.join().map(|()| true),
                Err(_) => Ok(false),
            }
        })
        .map_err(|_| "internal error: a CRL sorting thread panicked".to_owned())?;
        if !sorted_high {
            sort_part(high, der);
        }
        Ok(SerialIndex::from_parts(self.parts))
    }
}

fn sort_part(part: &mut [Slot], der: &[u8]) {
    if !part.is_sorted_by(|a, b| a.cmp_in(b, der) != Ordering::Greater) {
        sort_slots(part, der);
    }
}

/// Sorted slots in two parts; see the module documentation.
#[derive(Debug, Clone, Default)]
pub(super) struct SerialIndex {
    /// Every serial of `parts[0]` sorts before every serial of `parts[1]`.
    parts: [Vec<Slot>; 2],
}

impl SerialIndex {
    fn from_parts(mut parts: [Vec<Slot>; 2]) -> SerialIndex {
        for part in &mut parts {
            part.shrink_to_fit();
        }
        SerialIndex { parts }
    }

    pub(super) fn len(&self) -> usize {
        self.parts[0].len() + self.parts[1].len()
    }

    /// Heap bytes held by the index (its capacity, not just its length).
    pub(super) fn heap_bytes(&self) -> usize {
        (self.parts[0].capacity() + self.parts[1].capacity()) * std::mem::size_of::<Slot>()
    }

    /// Finds `serial` (two's complement big-endian, any redundant sign octets) in O(log n).
    pub(super) fn find(&self, der: &[u8], serial: &[u8]) -> Option<Found> {
        let serial = normalise_serial(serial);
        if serial.is_empty() || serial.len() > MAX_CRL_SERIAL_BYTES {
            return None;
        }
        let head = head_of(serial);
        let tail = serial.get(HEAD_BYTES..).unwrap_or(&[]);
        let compare = |slot: &Slot| slot.head.cmp(&head).then_with(|| slot.tail(der).cmp(tail));
        let part = match self.parts[1].first() {
            Some(first) if compare(first) != Ordering::Greater => &self.parts[1],
            _ => &self.parts[0],
        };
        let slot = part[part.binary_search_by(compare).ok()?];
        Some(Found {
            offset: slot.offset(),
            len: slot.len(),
            revoked_at: i64::from(slot.revoked_at),
            reason: slot.reason(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_16_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }

    #[test]
    fn normalises_sign_octets() {
        assert_eq!(
            normalise_serial(&[0x00, 0x00, 0xc0, 0xff]),
            &[0x00, 0xc0, 0xff]
        );
        assert_eq!(normalise_serial(&[0x00, 0x7f]), &[0x7f]);
        assert_eq!(normalise_serial(&[0xff, 0xff, 0x80]), &[0x80]);
        assert_eq!(normalise_serial(&[0xff, 0x7f]), &[0xff, 0x7f]);
        assert_eq!(normalise_serial(&[0x00]), &[0x00]);
        assert_eq!(normalise_serial(&[]), &[] as &[u8]);
    }

    /// A fake DER holding the serials back to back, and an index over them.
    fn build(serials: &[&[u8]]) -> (Vec<u8>, SerialIndex) {
        let der: Vec<u8> = serials.concat();
        let mut builder = IndexBuilder::new(serials.len() * 2, false);
        let mut offset = 0;
        for (i, serial) in serials.iter().enumerate() {
            let reason = (i % 11) as u8;
            builder
                .push(&der, offset, serial.len(), 1_000 + i as i64, reason)
                .expect("valid serial");
            offset += serial.len();
        }
        let index = builder.finish(&der);
        (der, index)
    }

    #[test]
    fn finds_every_serial_and_nothing_else() {
        let serials: [&[u8]; 6] = [
            &[0x05],
            &[0x00, 0x80],
            &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09],
            &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0a],
            &[0xff, 0x7f],
            &[0x00, 0x00, 0x42],
        ];
        let (der, index) = build(&serials);
        assert_eq!(index.len(), 6);
        assert!(index.heap_bytes() >= 6 * 16);
        for (i, serial) in serials.iter().enumerate() {
            let found = index.find(&der, serial).expect("listed");
            assert_eq!(found.reason, (i % 11) as u8);
            assert_eq!(found.revoked_at, 1_000 + i as i64);
        }
        // Other encodings of the same numbers.
        assert!(index.find(&der, &[0x00, 0x05]).is_some());
        assert!(index.find(&der, &[0x42]).is_some());
        assert!(index.find(&der, &[0xff, 0xff, 0x7f]).is_some());
        // Numbers not listed, including a tail mismatch behind an equal head.
        assert!(index.find(&der, &[0x06]).is_none());
        assert!(index.find(&der, &[0x80]).is_none()); // -128, not 128
        assert!(
            index
                .find(
                    &der,
                    &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0b]
                )
                .is_none()
        );
        assert!(index.find(&der, &[]).is_none());
    }

    #[test]
    fn rejects_dates_a_slot_cannot_hold() {
        let der = [0x01];
        let mut builder = IndexBuilder::new(1, false);
        assert!(
            builder
                .push(&der, 0, 1, i64::from(u32::MAX) + 1, NO_REASON)
                .is_err()
        );
        assert!(builder.push(&der, 0, 1, -1, NO_REASON).is_err());
        assert!(builder.push(&der, 0, 1, i64::from(u32::MAX), 10).is_ok());
        let index = builder.finish(&der);
        let found = index.find(&der, &[0x01]).expect("listed");
        assert_eq!((found.revoked_at, found.reason), (i64::from(u32::MAX), 10));
    }

    #[test]
    fn rejects_empty_and_overlong_serials() {
        let der = vec![0x01; MAX_CRL_SERIAL_BYTES + 1];
        let mut builder = IndexBuilder::new(1, false);
        assert!(builder.push(&der, 0, 0, 0, NO_REASON).is_err());
        assert!(builder.push(&der, 0, der.len(), 0, NO_REASON).is_err());
        assert!(builder.push(&der, 1, der.len(), 0, NO_REASON).is_err());
        assert!(
            builder
                .push(&der, 0, MAX_CRL_SERIAL_BYTES, 0, NO_REASON)
                .is_ok()
        );
    }

    #[test]
    fn two_parts_order_like_one_sort() {
        let serials: Vec<Vec<u8>> = (0u32..3 * SAMPLE_ENTRIES as u32)
            .map(|i| match i % 3 {
                0 => i.wrapping_mul(2_654_435_761).to_be_bytes().to_vec(),
                1 => [&[0x01; 8][..], &i.wrapping_mul(7_919).to_be_bytes()].concat(),
                _ => vec![0x01, (i % 7) as u8],
            })
            .collect();
        let der: Vec<u8> = serials.concat();
        let (mut one, mut two) = (IndexBuilder::new(8, false), IndexBuilder::new(8, true));
        let mut offset = 0;
        for serial in &serials {
            one.push(&der, offset, serial.len(), 0, NO_REASON)
                .expect("valid");
            two.push(&der, offset, serial.len(), 0, NO_REASON)
                .expect("valid");
            offset += serial.len();
        }
        let one = one.finish(&der);
        let two = two.finish_on_two_threads(&der).expect("sorted");
        assert!(one.parts[1].is_empty());
        assert!(!two.parts[0].is_empty() && !two.parts[1].is_empty());
        assert_eq!(two.heap_bytes(), serials.len() * 16);
        let order = |index: &SerialIndex| -> Vec<Vec<u8>> {
            index
                .parts
                .iter()
                .flatten()
                .map(|s| der[s.offset()..s.offset() + s.len()].to_vec())
                .collect()
        };
        assert_eq!(order(&one), order(&two));
        for serial in &serials {
            assert!(one.find(&der, serial).is_some());
            assert!(two.find(&der, serial).is_some());
        }
        assert!(two.find(&der, &[0x01, 0x09]).is_none());
        assert!(two.find(&der, &[0xff; 9]).is_none());
    }

    #[test]
    fn sorted_and_shuffled_input_give_the_same_answers() {
        let serials: Vec<Vec<u8>> = (0u32..500)
            .map(|i| {
                let mut s = vec![0x00, 0x80];
                s.extend_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
                s.extend_from_slice(&[0x11; 8]);
                s
            })
            .collect();
        let refs: Vec<&[u8]> = serials.iter().map(Vec::as_slice).collect();
        let (der, index) = build(&refs);
        for serial in &serials {
            assert!(index.find(&der, serial).is_some());
        }
        let mut sorted = refs.clone();
        sorted.sort_by_key(|s| head_of(normalise_serial(s)));
        let (der, index) = build(&sorted);
        for serial in &serials {
            assert!(index.find(&der, serial).is_some());
        }
    }
}
