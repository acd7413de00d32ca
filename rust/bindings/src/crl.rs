//! `certpolicy._core.Crl` and `RevokedEntry`: a parsed, verified, indexed CRL. Parsing and
//! signature checks run with the GIL released; the `bytes` given to `from_der` is kept (not
//! copied) and the index points into it. Lookups are sub-microsecond and keep the GIL.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt};

use certpolicy_core::crl::Crl as CoreCrl;
use certpolicy_core::limits::MAX_CRL_SERIAL_BYTES;

use crate::errors::{Error, Result};

/// `datetime.datetime.fromtimestamp` and `datetime.timezone.utc`, looked up once.
static DATETIME: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// An aware UTC datetime for seconds since the Unix epoch.
fn utc_datetime<'py>(py: Python<'py>, unix_seconds: i64) -> PyResult<Bound<'py, PyAny>> {
    let (from_timestamp, utc) = DATETIME.get_or_try_init(py, || -> PyResult<_> {
        let datetime = py.import("datetime")?;
        let from_timestamp = datetime.getattr("datetime")?.getattr("fromtimestamp")?;
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        Ok((from_timestamp.unbind(), utc.unbind()))
    })?;
    from_timestamp.bind(py).call1((unix_seconds, utc.bind(py)))
}

/// A Python int from big-endian two's complement octets.
fn int_from_bytes<'py>(
    py: Python<'py>,
    octets: &[u8],
    signed: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "signed"), signed)?;
    py.get_type::<PyInt>().call_method(
        intern!(py, "from_bytes"),
        (PyBytes::new(py, octets), intern!(py, "big")),
        Some(&kwargs),
    )
}

/// One more octet than the longest serial, so that any serial fits with a leading sign octet.
const SERIAL_BUFFER: usize = MAX_CRL_SERIAL_BYTES + 1;

/// The two's complement octets of a Python int serial, in a fixed buffer; `None` when the
/// value is too large to be any listed serial. A value that is no int is a
/// `MalformedInputError`.
fn serial_octets(serial: &Bound<'_, PyAny>) -> Result<Option<[u8; SERIAL_BUFFER]>> {
    let py = serial.py();
    let serial = serial.cast::<PyInt>().map_err(|_| {
        Error::Core(certpolicy_core::Error::MalformedInput(format!(
            "a serial number must be an int, not {}",
            serial
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string())
        )))
    })?;
    serial_octets_of_int(py, serial).map_err(Error::Python)
}

/// [`serial_octets`] of a value known to be an int.
fn serial_octets_of_int(
    py: Python<'_>,
    serial: &Bound<'_, PyInt>,
) -> PyResult<Option<[u8; SERIAL_BUFFER]>> {
    // An int subclass (bool, IntEnum, ...) as a plain int: its methods cannot be overridden.
    let plain;
    let serial = if serial.is_exact_instance_of::<PyInt>() {
        serial
    } else {
        plain = py
            .get_type::<PyInt>()
            .call1((serial,))?
            .cast_into::<PyInt>()?;
        &plain
    };
    let mut buffer = [0u8; SERIAL_BUFFER];
    // The common case, a non-negative serial: one unsigned to_bytes call, no keyword dict.
    let unsigned = serial.call_method1(
        intern!(py, "to_bytes"),
        (MAX_CRL_SERIAL_BYTES, intern!(py, "big")),
    );
    let octets = match unsigned {
        Ok(octets) => octets,
        Err(_) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "signed"), true)?;
            match serial.call_method(
                intern!(py, "to_bytes"),
                (SERIAL_BUFFER, intern!(py, "big")),
                Some(&kwargs),
            ) {
                Ok(octets) => octets,
                // Out of range either way: longer than any serial a CRL may list.
                Err(_) => return Ok(None),
            }
        }
    };
    let octets = octets.cast::<PyBytes>()?.as_bytes();
    // Unsigned octets get a 0x00 sign octet in front; signed ones fill the whole buffer.
    let Some(start) = SERIAL_BUFFER.checked_sub(octets.len()) else {
        return Ok(None);
    };
    buffer[start..].copy_from_slice(octets);
    Ok(Some(buffer))
}

/// A certificate revocation list (RFC 5280 section 5), indexed by serial number.
///
/// `serial in crl` is True when the int `serial` is listed (in any encoding of its value).
/// Anything that is not an int (a str, bytes, a float, None...) is no serial number, so no
/// CRL lists it: `"abc" in crl` is False, not an error. `crl.lookup(serial)` returns the
/// entry or None, and raises `MalformedInputError` for a serial that is not an int.
#[pyclass(frozen, module = "certpolicy._core", name = "Crl")]
pub struct Crl {
    inner: CoreCrl,
}

#[pymethods]
impl Crl {
    /// Parses a DER CRL; with `issuer` (a DER certificate), also verifies that it issued and
    /// signed the CRL. Raises `CrlError`.
    #[staticmethod]
    #[pyo3(signature = (data, issuer=None))]
    fn from_der(
        py: Python<'_>,
        data: PyBackedBytes,
        issuer: Option<PyBackedBytes>,
    ) -> Result<Self> {
        let inner = py.detach(|| CoreCrl::from_der(data, issuer.as_deref()))?;
        Ok(Self { inner })
    }

    /// Parses the first `X509 CRL` block of a PEM document (bytes or str), as `from_der`.
    #[staticmethod]
    #[pyo3(signature = (data, issuer=None))]
    fn from_pem(py: Python<'_>, data: PemInput, issuer: Option<PyBackedBytes>) -> Result<Self> {
        let inner = py.detach(|| CoreCrl::from_pem(data.as_bytes(), issuer.as_deref()))?;
        Ok(Self { inner })
    }

    /// Checks that `issuer` (DER) issued this CRL and signed it. Raises `CrlError`.
    fn verify(&self, py: Python<'_>, issuer: PyBackedBytes) -> Result<()> {
        Ok(py.detach(|| self.inner.verify(&issuer))?)
    }

    /// Checks that this CRL speaks for `cert` (DER): same issuer, and a scope
    /// (issuingDistributionPoint) that includes it. Raises `CrlError` saying why not.
    fn check_scope(&self, cert: &[u8]) -> Result<()> {
        Ok(self.inner.check_scope(cert)?)
    }

    /// The issuer, RFC 4514.
    #[getter]
    fn issuer(&self) -> &str {
        self.inner.issuer()
    }

    #[getter]
    fn this_update<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        utc_datetime(py, self.inner.this_update())
    }

    #[getter]
    fn next_update<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .next_update()
            .map(|seconds| utc_datetime(py, seconds))
            .transpose()
    }

    /// The CRL number (RFC 5280 section 5.2.3).
    #[getter]
    fn number<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .number()
            .map(|octets| int_from_bytes(py, octets, false))
            .transpose()
    }

    /// The revoked entry for `serial` (an int), or None. Raises `MalformedInputError` when
    /// `serial` is not an int.
    fn lookup(&self, serial: &Bound<'_, PyAny>) -> Result<Option<RevokedEntry>> {
        let Some(octets) = serial_octets(serial)? else {
            return Ok(None);
        };
        Ok(self.inner.lookup(&octets).map(|entry| RevokedEntry {
            serial: entry.serial,
            revoked_at: entry.revoked_at,
            reason: entry.reason.map(|reason| reason.name()),
        }))
    }

    // `serial in crl` (Python shows the class docstring for it, see above): whether the int
    // `serial` is listed. Anything that is not an int is no serial number, so no CRL lists
    // it: False, not an error. An int subclass (bool, IntEnum) counts as its int value.
    fn __contains__(&self, serial: &Bound<'_, PyAny>) -> Result<bool> {
        let Ok(serial) = serial.cast::<PyInt>() else {
            return Ok(false);
        };
        Ok(serial_octets_of_int(serial.py(), serial)
            .map_err(Error::Python)?
            .is_some_and(|octets| self.inner.contains(&octets)))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Heap bytes of the serial index, beyond the DER (16 per entry).
    fn index_bytes(&self) -> usize {
        self.inner.index_bytes()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Crl of \"{}\" with {} entries>",
            self.inner.issuer(),
            self.inner.len()
        )
    }
}

/// A PEM document given as bytes or str.
pub struct PemInput(PemData);

enum PemData {
    Bytes(PyBackedBytes),
    Text(pyo3::pybacked::PyBackedStr),
}

impl PemInput {
    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            PemData::Bytes(bytes) => bytes,
            PemData::Text(text) => text.as_bytes(),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for PemInput {
    type Error = PyErr;

    fn extract(ob: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = ob.extract::<pyo3::pybacked::PyBackedStr>() {
            return Ok(Self(PemData::Text(text)));
        }
        Ok(Self(PemData::Bytes(ob.extract::<PyBackedBytes>()?)))
    }
}

/// One revoked certificate of a CRL.
#[pyclass(frozen, module = "certpolicy._core", name = "RevokedEntry")]
pub struct RevokedEntry {
    serial: Vec<u8>,
    revoked_at: i64,
    reason: Option<&'static str>,
}

#[pymethods]
impl RevokedEntry {
    #[getter]
    fn serial<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        int_from_bytes(py, &self.serial, true)
    }

    /// revocationDate, an aware UTC datetime.
    #[getter]
    fn revoked_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        utc_datetime(py, self.revoked_at)
    }

    /// The reasonCode name (RFC 5280 section 5.3.1), e.g. "keyCompromise"; None if absent.
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        self.reason
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let serial = self
            .serial(py)?
            .call_method1(intern!(py, "__format__"), ("#x",))?;
        let revoked_at = self
            .revoked_at(py)?
            .call_method0(intern!(py, "isoformat"))?;
        Ok(format!(
            "<RevokedEntry serial={serial} revoked_at={revoked_at} reason={}>",
            self.reason.unwrap_or("None")
        ))
    }
}
