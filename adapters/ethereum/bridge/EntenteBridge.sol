// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title EntenteBridge
/// @notice Versioned key-value store that Entente's Ethereum adapter writes to.
/// Keeps (namespace, key) -> (value, version). Every applied write takes the
/// next value of a global counter as the key's version, so a version is never
/// reused; version 0 means the key does not exist. Each write carries the id of
/// the Entente transaction that made it and is applied at most once: a
/// transaction writes a key once, so (txId, namespace, key) names one write.
contract EntenteBridge {
    struct Entry {
        bytes value;
        uint64 version;
    }

    /// @notice expectedVersion meaning "apply whatever the current version is".
    uint64 public constant ANY = type(uint64).max;

    /// @notice The deployer; the only account that may apply writes.
    address public immutable owner;

    /// @notice Number of writes applied so far (the last version handed out).
    uint64 public writes;

    mapping(bytes32 => mapping(bytes32 => Entry)) private entries;
    mapping(bytes32 => bool) private appliedWrites;  // keccak256(abi.encode(txId, ns, key))

    error NotOwner();
    error VersionMismatch(string ns, string key, uint64 expectedVersion, uint64 currentVersion);

    event Applied(bytes32 indexed txId, string ns, string key, uint64 version, bool isDelete);
    event AlreadyApplied(bytes32 indexed txId);

    constructor() {
        owner = msg.sender;
    }

    function read(string calldata ns, string calldata key)
        external
        view
        returns (bytes memory value, uint64 version)
    {
        Entry storage e = entries[keccak256(bytes(ns))][keccak256(bytes(key))];
        return (e.value, e.version);
    }

    /// @notice Applies one write (or delete) of transaction txId at most once. Reverts with
    /// VersionMismatch unless expectedVersion is ANY or the key's current version. Named
    /// applyTx because `apply` is a reserved keyword in Solidity.
    function applyTx(
        bytes32 txId,
        string calldata ns,
        string calldata key,
        bytes calldata value,
        bool isDelete,
        uint64 expectedVersion
    ) external returns (bool applied) {
        if (msg.sender != owner) revert NotOwner();
        bytes32 writeId = keccak256(abi.encode(txId, ns, key));
        if (appliedWrites[writeId]) {
            emit AlreadyApplied(txId);
            return false;
        }
        Entry storage e = entries[keccak256(bytes(ns))][keccak256(bytes(key))];
        uint64 current = e.version;
        if (expectedVersion != ANY && expectedVersion != current) {
            revert VersionMismatch(ns, key, expectedVersion, current);
        }
        appliedWrites[writeId] = true;
        uint64 newVersion;
        if (isDelete) {
            delete e.value;
            e.version = 0;
        } else {
            newVersion = ++writes;
            e.value = value;
            e.version = newVersion;
        }
        emit Applied(txId, ns, key, newVersion, isDelete);
        return true;
    }

    /// @notice Whether transaction txId's write of (ns, key) was applied.
    function appliedTx(bytes32 txId, string calldata ns, string calldata key) external view returns (bool) {
        return appliedWrites[keccak256(abi.encode(txId, ns, key))];
    }
}
